/**
 * Messages between the main thread and the flush worker. Frequent signals (new frames, progress)
 * travel through control words in shared memory (src/arena/layout.ts); these messages carry only
 * the rare events that need data: a segment opened on a slot, shutdown, and failures.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedAofError } from '../src/errors.js';
import type { FsyncPolicy } from '../src/config.js';

export interface FlushWorkerData {
  sab: SharedArrayBuffer;
  slotCount: number;
  segmentBytes: number;
  frameWords: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** How long a ring may wait for more appends before the write (0: none; see ResolvedConfig). */
  writeDelayMs: number;
  /** Fault the arena's pages in between passes (src/arena/prefault.ts). */
  prefault: boolean;
  port: MessagePort;
}

/** Main → worker. */
export type FlushCommand =
  | { type: 'open'; slot: number; path: string; baseId: number; createdAt: number }
  | { type: 'shutdown' };

/** Worker → main. */
export type FlushEvent = { type: 'failed'; slot: number; error: SerializedAofError } | { type: 'stopped' };
