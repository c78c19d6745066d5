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

/** Direction changes: a grow followed (at any later window) by a shrink, or the reverse. */
export function reversals(sizes: readonly number[], start: number): number {
  let n = 0;
  let direction = 0;
  let previous = start;
  for (const size of sizes) {
    const d = Math.sign(size - previous);
    if (d !== 0) {
      if (direction !== 0 && d !== direction) n++;
      direction = d;
    }
    previous = size;
  }
  return n;
}
