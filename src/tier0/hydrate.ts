/**
 * Brings a sealed segment whose slot was evicted back into the arena from its file. The read
 * lands directly in the slot's shared memory (no intermediate copy), and the data region's CRC is
 * checked against the footer before any reader sees it.
 */
import { crc32 } from 'node:zlib';
import type { Arena } from '../arena/arena.js';
import { SlotState } from '../arena/layout.js';
import { AofError } from '../errors.js';
import { OpenMode, openFile } from '../safe-fs.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, tryDecodeFooter } from '../format/segment.js';
import type { Segment } from './segment.js';

/**
 * Starts hydrating `seg` if it is not resident and not already hydrating. Returns false when no
 * slot is free right now (the caller waits for a change and retries). `onDone` runs when the
 * hydration settles, successful or not.
 */
export function startHydration(arena: Arena, seg: Segment, onDone: () => void): boolean {
  if (seg.slot >= 0 || seg.hydration !== null) return true;
  const slot = arena.acquire(seg, SlotState.HYDRATING);
  if (slot < 0) return false;
  seg.error = null;
  seg.hydration = readInto(arena, seg, slot).then(
    () => {
      // The slot is published to the segment only together with CLEAN: code that finds
      // `seg.slot >= 0` may rely on the slot's state (Tier 1's sealing watcher, durableId).
      seg.slot = slot;
      arena.setState(slot, SlotState.CLEAN);
      seg.hydration = null;
      onDone();
    },
    (err: unknown) => {
      arena.release(slot);
      seg.error = err instanceof AofError ? err : AofError.io('hydrate segment', seg.path, err);
      seg.hydration = null;
      onDone();
    },
  );
  return true;
}

async function readInto(arena: Arena, seg: Segment, slot: number): Promise<void> {
  const fh = await openFile(seg.path, OpenMode.READ);
  try {
    const target = arena.u8.subarray(arena.base(slot), arena.base(slot) + seg.dataBytes);
    const { bytesRead } = await fh.read(target, 0, seg.dataBytes, SEGMENT_HEADER_BYTES);
    const tail = new Uint8Array(SEGMENT_FOOTER_BYTES);
    await fh.read(tail, 0, SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES + seg.dataBytes);
    const footer = tryDecodeFooter(tail);
    if (bytesRead !== seg.dataBytes || footer === null || footer.dataBytes !== seg.dataBytes) {
      throw AofError.corrupt(`segment ${seg.path} changed on disk: footer missing or length differs`, { path: seg.path });
    }
    const actual = crc32(target);
    if (actual !== footer.dataCrc) {
      throw AofError.corrupt(`segment ${seg.path} data CRC mismatch`, { path: seg.path, stored: footer.dataCrc, actual });
    }
  } finally {
    await fh.close();
  }
}
