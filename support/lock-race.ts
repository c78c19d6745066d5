/** Shared by test/integration/root-lock.test.ts and its child and worker (support/lock-*.ts). */

/** Small segments: the race workload spans several of them, so a double writer breaks the id chain. */
export const RACE_TIER0 = { arenaBytes: 8 * 4096, segmentBytes: 4096 } as const;
/** The stream every racer appends to. */
export const RACE_STREAM = 'race';
/** Records each acknowledged racer appends under fsync 'always' (the repro used 300). */
export const RACE_RECORDS = 300;

/** Payload of record `id` written by racer `racer`: its first byte names the writer. */
export function racePayload(racer: number, id: number): Uint8Array {
  const out = new Uint8Array(24);
  out[0] = racer;
  new DataView(out.buffer).setFloat64(8, id, true);
  return out;
}
