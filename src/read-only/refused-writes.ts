/**
 * The writes of a log that only reads: a read-only manager's or a follower's (read-only-log.ts)
 * and a view's attached in a worker thread (src/share/attached-log.ts). Each throws, or rejects
 * with, the log's refusal: AOF_ERR_READ_ONLY, or AOF_ERR_CLOSED once the log closed.
 */
import type { AofError } from '../errors.js';

export abstract class RefusedWrites {
  /** Never 'always': nothing is appended here. */
  readonly fsyncAlways = false;

  /** The error `what` gets (AOF_ERR_READ_ONLY naming how the manager was opened; AOF_ERR_CLOSED once closed). */
  protected abstract refusal(what: string): AofError;

  /** @throws AOF_ERR_READ_ONLY */
  appendSync(_payload: Uint8Array): number {
    throw this.refusal('appendSync');
  }

  /** @throws (rejects) AOF_ERR_READ_ONLY */
  append(_payload: Uint8Array): Promise<number> {
    return Promise.reject(this.refusal('append'));
  }

  /** @throws AOF_ERR_READ_ONLY */
  appendBatchSync(_payloads: readonly Uint8Array[]): number {
    throw this.refusal('appendBatchSync');
  }

  /** @throws (rejects) AOF_ERR_READ_ONLY */
  appendBatch(_payloads: readonly Uint8Array[]): Promise<number> {
    return Promise.reject(this.refusal('appendBatch'));
  }

  /** @throws (rejects) AOF_ERR_READ_ONLY: durability is the writer's to give */
  flush(): Promise<void> {
    return Promise.reject(this.refusal('flush'));
  }

  /** A write stream is refused at creation. @throws AOF_ERR_CLOSED, AOF_ERR_READ_ONLY */
  checkWritable(): void {
    throw this.refusal('createWriteStream');
  }

  /** `await using`: nothing was appended through this log, so nothing to flush. */
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
