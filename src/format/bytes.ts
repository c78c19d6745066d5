/** Little helpers shared by the binary formats. */

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * u64 as two u32 halves: ids are safe integers (< 2^53), and this is several times faster than a
 * BigInt round trip per field, which shows when a snapshot holds 100,000 entries.
 */
export function getU64(v: DataView, off: number): number {
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * 0x1_0000_0000;
}

export function setU64(v: DataView, off: number, value: number): void {
  v.setUint32(off, value % 0x1_0000_0000, true);
  v.setUint32(off + 4, Math.floor(value / 0x1_0000_0000), true);
}

/**
 * Rounds up to a multiple of 8 with arithmetic, not `& ~7`: a damaged length near 2^32 would wrap
 * a 32-bit bit trick to a small or negative length and stall a scan on the same offset.
 */
export const pad8 = (n: number): number => Math.ceil(n / 8) * 8;
