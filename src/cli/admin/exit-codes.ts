/**
 * Exit codes of `aof2-admin`, the same for every command (docs/admin-cli.md). Scripts branch on
 * them, so the numbers are forever.
 */
import { AofError, ErrorCode } from '../../errors.js';

export const ExitCode = {
  /** The command did what it was asked, and found nothing wrong. */
  OK: 0,
  /** Corruption found (verify, manifest inspect), or a safety check refused to go on. */
  CORRUPT: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  USAGE: 2,
  /** Another process (a running engine) holds the root lock; nothing was changed. */
  LOCKED: 3,
  /** The root cannot be used: missing, not an aof2 root, unreadable, written by a newer aof2, I/O error. */
  UNAVAILABLE: 4,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with a chosen exit code and a one-line message on stderr. */
export class AdminExit extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(exitCode: ExitCodeValue, message: string) {
    super(message);
    this.name = 'AdminExit';
    this.exitCode = exitCode;
  }
}

/** The exit code an error ends the command with (LOCKED → 3, CORRUPT and UNSAFE_PATH → 1, anything else → 4). */
export function exitCodeOf(err: unknown): ExitCodeValue {
  if (err instanceof AdminExit) return err.exitCode;
  if (err instanceof AofError) {
    if (err.code === ErrorCode.LOCKED) return ExitCode.LOCKED;
    if (err.code === ErrorCode.CORRUPT || err.code === ErrorCode.UNSAFE_PATH) return ExitCode.CORRUPT;
    if (err.code === ErrorCode.INVALID_ARGUMENT || err.code === ErrorCode.UNKNOWN_OPTION) return ExitCode.USAGE;
  }
  return ExitCode.UNAVAILABLE;
}

/** The message printed for an error (code first for coded errors, so it can be looked up in docs/errors.md). */
export function messageOf(err: unknown): string {
  if (err instanceof AdminExit) return err.message;
  if (err instanceof AofError) {
    if (err.code === ErrorCode.LOCKED) {
      return `${err.message}: stop the process that has the root open (or run this command against a copy), then try again`;
    }
    return `${err.code}: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
