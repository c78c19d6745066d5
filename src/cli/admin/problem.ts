import { AofError, ErrorCode } from '../../errors.js';

/** A finding of an offline check: which file, where in it, and what is wrong. */
export interface Problem {
  /** Path relative to the root (`streams/orders/00000000000000000000.seg`). */
  file: string;
  /** Byte offset in the file where the damaged range starts. */
  offset: number;
  /** Bytes of the damaged range (a record, a frame, a header), or 0 when unknown. */
  length: number;
  message: string;
}

/** `file @ offset (+length): message`, the one-line form every command prints. */
export function formatProblem(p: Problem): string {
  return `${p.file} @ ${p.offset}${p.length > 0 ? ` (+${p.length})` : ''}: ${p.message}`;
}

/** The `details.offset` a decoder attached to its error, if any. */
export function offsetOf(err: unknown): number | null {
  const details = (err as { details?: Record<string, unknown> } | null)?.details;
  const offset = details?.['offset'];
  return typeof offset === 'number' ? offset : null;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A file written by a newer aof2 is not damage: rethrow AOF_ERR_INCOMPATIBLE (exit 4, "upgrade")
 * with the file named, instead of reporting corruption (exit 1).
 */
export function rethrowIncompatible(err: unknown, file: string): void {
  if (err instanceof AofError && err.code === ErrorCode.INCOMPATIBLE) {
    throw new AofError(ErrorCode.INCOMPATIBLE, `${file}: ${err.message}; use a newer aof2-admin`, { cause: err, details: { ...err.details, path: file } });
  }
}
