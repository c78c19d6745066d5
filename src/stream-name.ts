import { AofError, ErrorCode } from './errors.js';

/** Stream names are also directory names, so the alphabet is closed and `.`/`..` are refused. */
const STREAM_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** True for a name `openStream` accepts (listStreams shows only those: a planted `bad name` is not a stream). */
export function isValidStreamName(name: string): boolean {
  return STREAM_NAME.test(name) && name !== '.' && name !== '..';
}

/** @throws AOF_ERR_INVALID_STREAM_NAME */
export function validateStreamName(name: unknown): string {
  if (typeof name !== 'string' || !isValidStreamName(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 140)) : typeof name;
    throw new AofError(
      ErrorCode.INVALID_STREAM_NAME,
      `stream name must match [A-Za-z0-9._-]{1,128} and not be "." or "..", got ${shown}`,
      { details: { name: typeof name === 'string' ? name.slice(0, 140) : typeof name } },
    );
  }
  return name;
}
