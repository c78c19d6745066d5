/** Shared by support/damage-child.ts and the test that kills it (recovery-damage.test.ts). */
import type { AofManagerOptions } from '../src/index.js';
import { payloadFor } from './tmp.js';

/** The one stream the damage child writes. */
export const DAMAGE_STREAM = 'events';
/** One 64 KiB segment holds every record of the test: the active segment stays unsealed. */
export const DAMAGE_OPTIONS = {
  tier0: { arenaBytes: 4 * 64 * 1024, segmentBytes: 64 * 1024 },
  tier1: { enabled: false },
  tier2: { kind: 'none' },
  fsync: 'always',
} as const satisfies Omit<AofManagerOptions, 'root'>;

/** Record `id`: 200 bytes (216-byte frames), the same on both sides. */
export function damagePayload(id: number): Uint8Array {
  return payloadFor(id + 7, 200);
}
