/**
 * `tier2.credentials`: what the AWS SDK itself accepts, an `AwsCredentialIdentity` or an
 * `AwsCredentialIdentityProvider`, checked field by field.
 *
 * Identities come from the SDK as often as from a literal: `fromEnv()()` returns
 * `{ accessKeyId, secretAccessKey, $source }`, the SDK adds `$source` (its feature-tracking
 * metadata) to an object it has used, STS and SSO identities carry `expiration` (a Date),
 * `accountId` and `credentialScope`. All of them are accepted; a key that is neither an identity
 * field nor SDK metadata (`$`-prefixed) is still AOF_ERR_UNKNOWN_OPTION, so a typo such as `token`
 * is caught.
 *
 * Threads: upload and hydrate tasks carry the store's configuration to worker threads by
 * structured clone, and a provider function cannot cross. So the main thread calls the provider
 * ({@link CredentialSource}) and sends the identity it returned, plain data; it calls the provider
 * again only when that identity is within {@link REFRESH_MARGIN_MS} of its `expiration` (as the
 * SDK's own memoization does: an identity without `expiration` is kept). The main thread's own S3
 * client gets the provider itself.
 */
import { AofError, ErrorCode } from '../errors.js';

/** An AWS credential identity, as `@smithy/types` `AwsCredentialIdentity` defines it. */
export interface Tier2Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  credentialScope?: string;
  accountId?: string;
  /** When temporary credentials stop working. */
  expiration?: Date;
}

/** A function returning credentials, such as the SDK's `fromNodeProviderChain()` or `fromIni()`. */
export type Tier2CredentialsProvider = (identityProperties?: Record<string, unknown>) => Promise<Tier2Credentials>;

const IDENTITY_KEYS = ['accessKeyId', 'secretAccessKey', 'sessionToken', 'credentialScope', 'accountId', 'expiration'] as const;

/** Refresh an expiring identity this long before it expires (the SDK uses 5 minutes too). */
export const REFRESH_MARGIN_MS = 5 * 60_000;

function stringField(obj: Record<string, unknown>, key: string, where: string, required: boolean): string | undefined {
  const value = obj[key];
  if (value === undefined) {
    if (!required) return undefined;
    throw AofError.invalidArgument(`${where} needs both accessKeyId and secretAccessKey (or omit credentials to use the AWS default chain)`, { option: where });
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw AofError.invalidArgument(`${where}.${key} must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}`, { option: `${where}.${key}` });
  }
  return value;
}

/**
 * Checks one identity and copies its identity fields (SDK metadata such as `$source` is dropped:
 * it describes how the object was obtained and means nothing to a new client).
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION (`where` names the option in messages)
 */
export function checkCredentials(value: unknown, where: string): Tier2Credentials {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw AofError.invalidArgument(
      `${where} must be an object { accessKeyId, secretAccessKey, sessionToken?, ... } or a function returning one (a credentials provider), got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
      { option: where },
    );
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(IDENTITY_KEYS as readonly string[]).includes(key) && !key.startsWith('$')) {
      throw new AofError(ErrorCode.UNKNOWN_OPTION, `unknown option ${where}.${key}; expected one of: ${IDENTITY_KEYS.join(', ')} (and SDK metadata such as $source)`, {
        details: { option: `${where}.${key}` },
      });
    }
  }
  const out: Tier2Credentials = {
    accessKeyId: stringField(obj, 'accessKeyId', where, true)!,
    secretAccessKey: stringField(obj, 'secretAccessKey', where, true)!,
  };
  for (const key of ['sessionToken', 'credentialScope', 'accountId'] as const) {
    const field = stringField(obj, key, where, false);
    if (field !== undefined) out[key] = field;
  }
  const expiration = obj['expiration'];
  if (expiration !== undefined) {
    if (!(expiration instanceof Date) || Number.isNaN(expiration.getTime())) {
      throw AofError.invalidArgument(`${where}.expiration must be a valid Date, got ${expiration instanceof Date ? 'an invalid Date' : typeof expiration}`, {
        option: `${where}.expiration`,
      });
    }
    out.expiration = new Date(expiration.getTime());
  }
  return out;
}

/**
 * Validates `tier2.credentials`: an identity (copied) or a provider (kept as is).
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION
 */
export function resolveCredentials(value: unknown): Tier2Credentials | Tier2CredentialsProvider {
  if (typeof value === 'function') return value as Tier2CredentialsProvider;
  return checkCredentials(value, 'tier2.credentials');
}

/**
 * The identity to send with a task: the static one, or the provider's last answer while it is
 * not about to expire. Concurrent callers share one provider call.
 */
export class CredentialSource {
  readonly #provider: Tier2CredentialsProvider;
  readonly #now: () => number;
  #current: Tier2Credentials | null = null;
  #pending: Promise<Tier2Credentials> | null = null;

  constructor(provider: Tier2CredentialsProvider, now: () => number = Date.now) {
    this.#provider = provider;
    this.#now = now;
  }

  /**
   * @throws (rejects) AOF_ERR_UNAVAILABLE (storeCode `CredentialsProviderError`, the provider's
   *   error as cause) when the provider fails or returns something that is not an identity: the
   *   caller retries through the circuit breaker, as for any store failure
   */
  get(): Promise<Tier2Credentials> {
    const current = this.#current;
    if (current !== null && (current.expiration === undefined || current.expiration.getTime() - this.#now() > REFRESH_MARGIN_MS)) {
      return Promise.resolve(current);
    }
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #refresh(): Promise<Tier2Credentials> {
    let identity: Tier2Credentials;
    try {
      identity = checkCredentials(await this.#provider(), 'the identity returned by tier2.credentials()');
    } catch (err) {
      throw new AofError(ErrorCode.UNAVAILABLE, `tier 2: the credentials provider failed: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
        details: { storeCode: 'CredentialsProviderError' },
      });
    }
    this.#current = identity;
    return identity;
  }
}
