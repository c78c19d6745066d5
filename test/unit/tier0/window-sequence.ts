/**
 * Reading a sequence of window sizes, as the window-size rule's unit tests produce them
 * (window-size.test.ts, window-size-share.test.ts).
 */

/** Index of the window after which the size never changes again (0 if it never changed). */
export function settledAt(sizes: readonly number[], start: number): number {
  let last = 0;
  for (let i = 0; i < sizes.length; i++) if (sizes[i] !== (i === 0 ? start : sizes[i - 1])) last = i + 1;
  return last;
}
