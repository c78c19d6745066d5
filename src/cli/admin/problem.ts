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
