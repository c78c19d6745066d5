/**
 * Main-thread record of one segment of one stream: where its records are (file, arena slot) and
 * how many. Ids are implicit: record i of the segment has id `baseId + i`.
 */
import type { AofError } from '../errors.js';

export class Segment {
  readonly baseId: number;
  readonly path: string;
  /** Records in the segment (live for the active segment). */
  count: number;
  /** Bytes of frames in the data region (live for the active segment). */
  dataBytes: number;
  /** Arena slot holding the data, or -1 when only the file has it. */
  slot = -1;
  /** True once the segment will never grow again (sealing or sealed). */
  sealed: boolean;
  /** Running hydration (file → slot), shared by every reader that needs this segment. */
  hydration: Promise<void> | null = null;
  /** Last hydration failure; readers report it instead of retrying forever. */
  error: AofError | null = null;

  constructor(baseId: number, path: string, count: number, dataBytes: number, sealed: boolean) {
    this.baseId = baseId;
    this.path = path;
    this.count = count;
    this.dataBytes = dataBytes;
    this.sealed = sealed;
  }

  /** Id one past the last record. */
  get endId(): number {
    return this.baseId + this.count;
  }
}
