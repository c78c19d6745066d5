/**
 * Checks of the small options objects the public calls take (`append(payload, { signal })`,
 * `reader.next({ wait })`, `log.follow({ from })`, `createReadStream({ follow })`...): unknown keys
 * are AOF_ERR_UNKNOWN_OPTION, so a typo never silently falls back to a default, and values of the
 * wrong type are AOF_ERR_INVALID_ARGUMENT naming the option. Manager options have their own,
 * nested checks (src/config.ts).
 */
import { AofError, ErrorCode } from './errors.js';

/**
 * `options` is an object whose keys are all in `allowed`.
 * @throws AOF_ERR_INVALID_ARGUMENT (not an object), AOF_ERR_UNKNOWN_OPTION (`details.option`)
 */
export function checkOptions(options: unknown, allowed: readonly string[], call: string): asserts options is object {
  if (typeof options !== 'object' || options === null) throw AofError.invalidArgument(`${call} options must be an object`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new AofError(ErrorCode.UNKNOWN_OPTION, `unknown ${call} option ${key}; expected one of: ${allowed.join(', ')}`, { details: { option: key } });
    }
  }
}

/**
 * The `signal` option: undefined, or an AbortSignal.
 * @throws AOF_ERR_INVALID_ARGUMENT
 */
export function signalOf(value: unknown, call: string): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw AofError.invalidArgument(`${call} option signal must be an AbortSignal`, { option: 'signal' });
}

/**
 * A boolean option, `fallback` when absent.
 * @throws AOF_ERR_INVALID_ARGUMENT
 */
export function booleanOf(value: unknown, name: string, call: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw AofError.invalidArgument(`${call} option ${name} must be a boolean, got ${typeof value}`, { option: name });
  return value;
}
