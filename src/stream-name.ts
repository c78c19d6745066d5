import { AofError, ErrorCode } from './errors.js';

/** Stream names are also directory names, so the alphabet is closed and `.`/`..` are refused. */
const STREAM_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** @throws AOF_ERR_INVALID_STREAM_NAME */
export function validateStreamName(name: unknown): string {
  if (typeof name !== 'string' || !STREAM_NAME.test(name) || name === '.' || name === '..') {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 140)) : typeof name;
    throw new AofError(
      ErrorCode.INVALID_STREAM_NAME,
      `stream name must match [A-Za-z0-9._-]{1,128} and not be "." or "..", got ${shown}`,
      { details: { name: typeof name === 'string' ? name.slice(0, 140) : typeof name } },
    );
  }
  return name;
}
