/**
 * S3 object store: Tier 2 on AWS S3 or any S3-compatible service (MinIO, Ceph RGW, moto), through
 * `@aws-sdk/client-s3`. Loaded only when `tier2.kind` is 's3' (a dynamic import in
 * object-store.ts), so the SDK costs nothing to an fs-only embedding.
 *
 * Design and trade-offs:
 * - **Keys.** Object `k` lives at `<prefix>/<k>` (exactly one slash between them whatever slashes the
 *   configured prefix has at its ends), or at `k` without a prefix; `list` strips the prefix back off.
 * - **Failures are data, not exceptions to guess at.** Every failure (refused connection, timeout,
 *   5xx, throttling, AccessDenied, NoSuchBucket, missing credentials) rejects with
 *   AOF_ERR_UNAVAILABLE carrying `details.storeCode` (the S3 error name such as `NoSuchBucket`, or
 *   the errno such as `ECONNREFUSED`, or `TimeoutError`), `details.httpStatus` and `details.key`.
 *   Only "no such key" is an answer (`null`), and a range starting past the end is an empty answer.
 * - **Missing key vs missing bucket on HEAD.** A HEAD response has no body, so S3 answers both with a
 *   bare 404 `NotFound`; `size` confirms a 404 with one HeadBucket before it reports `null`, so a
 *   deleted bucket is an outage (the engine keeps its data), never "the object is gone".
 * - **Retries are the engine's job.** The engine retries with backoff behind a circuit breaker, so
 *   the SDK gets `maxAttempts: 2` (one quick retry absorbs a stale keep-alive socket or a single 503
 *   without bothering the breaker) and an outage surfaces after at most two bounded attempts.
 * - **Bounded time.** `connectTimeoutMs` bounds connecting; `requestTimeoutMs` is an *inactivity*
 *   bound on the socket (the SDK's `socketTimeout`), not a total: it holds for a stalled server
 *   (SIGSTOP, a black-holed route) during the request, the wait for headers and the body, yet never
 *   cuts a large upload that is still moving bytes. A paused server therefore fails a call within
 *   about `maxAttempts * requestTimeoutMs`.
 * - **Checksums only when required** (`requestChecksumCalculation`/`responseChecksumValidation`
 *   'WHEN_REQUIRED'): the newer SDK default (CRC32 trailers) is refused by many S3-compatible
 *   stores, and every aof2 object carries its own CRCs, checked on every read anyway. Over plain HTTP
 *   SigV4 still signs the SHA-256 of each body, so the store rejects a damaged upload.
 * - **Multipart** above `multipartThresholdBytes` (16 MiB by default; S3 caps a single PUT at 5 GiB
 *   and a big single PUT restarts from zero on any failure): parts of `partBytes` (8 MiB by
 *   default, at least 5 MiB as S3 requires of every part but the last, grown so there are at most
 *   10,000), `partConcurrency` at a time; any failure aborts the upload (best effort: if the abort
 *   itself cannot reach the store, the parts stay invisible to GET/LIST until a bucket lifecycle rule
 *   `AbortIncompleteMultipartUpload` removes them; see docs/decisions.md).
 * - One `S3Client` per store instance: each worker thread opens its own from the same plain config.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { AofError, ErrorCode } from '../errors.js';
import { checkObjectKey, type ByteRange, type ObjectInfo, type ObjectStore, type Tier2StoreConfig } from './store-contract.js';

export type S3StoreConfig = Extract<Tier2StoreConfig, { kind: 's3' }>;

/** Tuning knobs of the S3 backend (code-level, not user options: the defaults suit S3 itself). */
export interface S3StoreOptions {
  /** Bodies strictly larger than this go up as multipart uploads. Default 16 MiB. */
  multipartThresholdBytes?: number;
  /** Size of each multipart part but the last; at least 5 MiB. Default 8 MiB. */
  partBytes?: number;
  /** Parts in flight at once. Default 4. */
  partConcurrency?: number;
  /** Socket inactivity that fails an attempt (ms). Default 10,000. */
  requestTimeoutMs?: number;
  /** Time allowed to establish a connection (ms). Default 3,000. */
  connectTimeoutMs?: number;
  /** SDK attempts per call, first one included. Default 2. */
  maxAttempts?: number;
}

const MIB = 1024 * 1024;
/** S3's floor for every part but the last. */
export const S3_MIN_PART_BYTES = 5 * MIB;
/** S3's ceiling on the number of parts of one upload. */
const S3_MAX_PARTS = 10_000;

export const S3_DEFAULTS = {
  region: 'us-east-1',
  multipartThresholdBytes: 16 * MIB,
  partBytes: 8 * MIB,
  partConcurrency: 4,
  requestTimeoutMs: 10_000,
  connectTimeoutMs: 3_000,
  maxAttempts: 2,
} as const;

/**
 * What an S3 failure is called: the service's error name (`NoSuchBucket`), else the errno
 * (`ECONNREFUSED`), else the error's own name (`TimeoutError`), else the HTTP status of an answer
 * the SDK could not parse (`HTTP_502` from a proxy's HTML page).
 */
function storeCodeOf(err: unknown): string {
  if (err instanceof S3ServiceException) return err.name;
  const e = err as { code?: unknown; name?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.name === 'string' && e.name !== 'Error') return e.name;
  const status = httpStatusOf(err);
  return status === null ? 'unknown' : `HTTP_${status}`;
}

function httpStatusOf(err: unknown): number | null {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : null;
}

function isService(err: unknown, ...names: string[]): boolean {
  return err instanceof S3ServiceException && names.includes(err.name);
}

function positiveInt(value: number | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw AofError.invalidArgument(`S3 store option ${name} must be an integer >= ${min}, got ${String(value)}`, { option: name });
  }
  return value;
}

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  /** '' or the configured prefix without slashes at its ends, plus one '/'. */
  readonly #keyPrefix: string;
  readonly #sse: { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string };
  readonly #multipartThreshold: number;
  readonly #partBytes: number;
  readonly #partConcurrency: number;
  #closed = false;

  private constructor(config: S3StoreConfig, options: S3StoreOptions) {
    const trimmed = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.#bucket = config.bucket;
    this.#keyPrefix = trimmed === '' ? '' : `${trimmed}/`;
    this.location = `s3://${config.bucket}/${trimmed}`;
    this.#sse = {};
    if (config.serverSideEncryption !== undefined) this.#sse.ServerSideEncryption = config.serverSideEncryption;
    if (config.sseKmsKeyId !== undefined) this.#sse.SSEKMSKeyId = config.sseKmsKeyId;
    this.#multipartThreshold = positiveInt(options.multipartThresholdBytes, 'multipartThresholdBytes', S3_DEFAULTS.multipartThresholdBytes);
    this.#partBytes = positiveInt(options.partBytes, 'partBytes', S3_DEFAULTS.partBytes, S3_MIN_PART_BYTES);
    this.#partConcurrency = positiveInt(options.partConcurrency, 'partConcurrency', S3_DEFAULTS.partConcurrency);
    const clientConfig: S3ClientConfig = {
      region: config.region ?? S3_DEFAULTS.region,
      maxAttempts: positiveInt(options.maxAttempts, 'maxAttempts', S3_DEFAULTS.maxAttempts),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The SDK's default sends `Expect: 100-continue` on bodies >= 2 MiB, and each such request
      // on a fresh connection (no keep-alive: one more TCP+TLS handshake per part) that waits up to
      // 6 s for a store that ignores the header. It only saves uploading a body the store refuses.
      expectContinueHeader: false,
      // Options object rather than a NodeHttpHandler instance: the SDK builds its own handler from
      // it, so @smithy/node-http-handler need not be a direct dependency.
      requestHandler: {
        connectionTimeout: positiveInt(options.connectTimeoutMs, 'connectTimeoutMs', S3_DEFAULTS.connectTimeoutMs),
        socketTimeout: positiveInt(options.requestTimeoutMs, 'requestTimeoutMs', S3_DEFAULTS.requestTimeoutMs),
      },
    };
    if (config.endpoint !== undefined) clientConfig.endpoint = config.endpoint;
    if (config.forcePathStyle !== undefined) clientConfig.forcePathStyle = config.forcePathStyle;
    // Without credentials the SDK's default chain applies (env, shared files, SSO, IMDS/ECS roles).
    // A provider is handed to the SDK as is (it refreshes expiring identities itself); an identity
    // is copied, so the caller's object is not the client's.
    const credentials = config.credentials;
    if (credentials !== undefined) clientConfig.credentials = typeof credentials === 'function' ? credentials : { ...credentials };
    this.#client = new S3Client(clientConfig);
  }

  /**
   * Builds the client; touches no network (a store that is down at startup is an outage like any
   * other, seen on the first call).
   * @throws AOF_ERR_INVALID_ARGUMENT on an unusable option
   */
  static async open(config: S3StoreConfig, options: S3StoreOptions = {}): Promise<S3ObjectStore> {
    if (typeof config.bucket !== 'string' || config.bucket.length === 0) {
      throw AofError.invalidArgument('tier2.bucket must be a non-empty string', { option: 'tier2.bucket' });
    }
    return new S3ObjectStore(config, options);
  }

  #fullKey(key: string): string {
    if (this.#closed) throw AofError.closed(`tier 2 store ${this.location}`);
    checkObjectKey(key);
    return this.#keyPrefix + key;
  }

  #unavailable(action: string, key: string, cause: unknown, storeCode = storeCodeOf(cause)): AofError {
    const httpStatus = httpStatusOf(cause);
    return new AofError(
      ErrorCode.UNAVAILABLE,
      `tier 2 (s3): ${action} ${this.location}${key === '' ? '' : ` key ${key}`} failed: ${storeCode}${httpStatus === null ? '' : ` (HTTP ${httpStatus})`}`,
      { cause, details: { key, storeCode, httpStatus, location: this.location } },
    );
  }

  /** @throws AOF_ERR_UNAVAILABLE, AOF_ERR_CLOSED, AOF_ERR_INVALID_ARGUMENT (a malformed key) */
  async put(key: string, body: Uint8Array): Promise<void> {
    const Key = this.#fullKey(key);
    if (body.length > this.#multipartThreshold) return this.#putMultipart(key, Key, body);
    try {
      await this.#client.send(
        new PutObjectCommand({ Bucket: this.#bucket, Key, Body: body, ContentLength: body.length, ...this.#sse }),
      );
    } catch (err) {
      throw this.#unavailable('put', key, err);
    }
  }

  async #putMultipart(key: string, Key: string, body: Uint8Array): Promise<void> {
    let uploadId: string;
    try {
      const created = await this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key, ...this.#sse }));
      if (created.UploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
      uploadId = created.UploadId;
    } catch (err) {
      throw this.#unavailable('start multipart upload of', key, err);
    }
    const partBytes = Math.max(this.#partBytes, Math.ceil(body.length / S3_MAX_PARTS));
    const count = Math.ceil(body.length / partBytes);
    const etags: string[] = new Array<string>(count);
    let next = 0;
    let failure: unknown = null;
    // A few lanes pull part numbers from a shared cursor; after the first failure no lane starts a
    // new part, and the abort waits until every part in flight has settled (S3 may otherwise keep a
    // part that finished uploading after the abort).
    const lane = async (): Promise<void> => {
      while (failure === null && next < count) {
        const i = next++;
        const part = body.subarray(i * partBytes, Math.min(body.length, (i + 1) * partBytes));
        try {
          const out = await this.#client.send(
            new UploadPartCommand({ Bucket: this.#bucket, Key, UploadId: uploadId, PartNumber: i + 1, Body: part, ContentLength: part.length }),
          );
          if (out.ETag === undefined) throw new Error(`UploadPart ${i + 1} returned no ETag`);
          etags[i] = out.ETag;
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#partConcurrency, count) }, lane));
    if (failure === null) {
      try {
        await this.#client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.#bucket,
            Key,
            UploadId: uploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
        );
        return;
      } catch (err) {
        failure = err;
      }
    }
    await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key, UploadId: uploadId })).catch(() => undefined);
    throw this.#unavailable('multipart put', key, failure);
  }

  /**
   * The object's bytes, or `range` of them clamped to its end (one ranged GET, `Range: bytes=a-b`);
   * null if there is no such object. Returns a fresh copy the caller owns.
   * @throws AOF_ERR_UNAVAILABLE, AOF_ERR_CLOSED, AOF_ERR_INVALID_ARGUMENT (a malformed key or range)
   */
  async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    const Key = this.#fullKey(key);
    let Range: string | undefined;
    if (range !== undefined) {
      const { offset, length } = range;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw AofError.invalidArgument(`bad byte range ${JSON.stringify(range)}`, { key });
      }
      // `bytes=a-(a-1)` is not a valid range: an empty read only has to say whether the object exists.
      if (length === 0) return (await this.size(key)) === null ? null : new Uint8Array(0);
      Range = `bytes=${offset}-${offset + length - 1}`;
    }
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key, Range }));
      const bytes = out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
      // A connection cut mid-body must not pass for a short object.
      if (out.ContentLength !== undefined && bytes.length !== out.ContentLength) {
        throw Object.assign(new Error(`short body: ${bytes.length} of ${out.ContentLength} bytes`), { code: 'ShortBody' });
      }
      return bytes;
    } catch (err) {
      if (isService(err, 'NoSuchKey')) return null;
      // 416: the object exists but the range starts at or past its end (every range of an empty
      // object does): clamped, that is no bytes.
      if (Range !== undefined && (isService(err, 'InvalidRange') || httpStatusOf(err) === 416)) return new Uint8Array(0);
      throw this.#unavailable('get', key, err);
    }
  }

  /** @throws AOF_ERR_UNAVAILABLE, AOF_ERR_CLOSED, AOF_ERR_INVALID_ARGUMENT (a malformed key) */
  async size(key: string): Promise<number | null> {
    const Key = this.#fullKey(key);
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key }));
      return out.ContentLength ?? 0;
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw this.#unavailable('head', key, err);
      // A bodiless 404 is also what a missing bucket looks like: tell them apart.
      try {
        await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
      } catch (bucketErr) {
        // HeadBucket has no body either: its 404 is the bucket's, and gets the name a GET would give.
        throw this.#unavailable('head bucket for', key, bucketErr, httpStatusOf(bucketErr) === 404 ? 'NoSuchBucket' : storeCodeOf(bucketErr));
      }
      return null;
    }
  }

  /**
   * Every object under key prefix `prefix` (one ListObjectsV2 page of up to 1,000 keys per
   * round trip), ascending by key.
   * @throws AOF_ERR_UNAVAILABLE, AOF_ERR_CLOSED
   */
  async list(prefix: string): Promise<ObjectInfo[]> {
    if (this.#closed) throw AofError.closed(`tier 2 store ${this.location}`);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#keyPrefix + prefix, ContinuationToken: token }),
        );
        for (const obj of page.Contents ?? []) {
          if (obj.Key === undefined) continue;
          out.push({ key: obj.Key.slice(this.#keyPrefix.length), size: obj.Size ?? 0, ...(obj.ETag !== undefined && { etag: obj.ETag }) });
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw this.#unavailable('list', prefix, err);
    }
    // S3 lists in UTF-8 byte order, which equals UTF-16 order for aof2's ASCII keys; sorting again
    // costs nothing next to a round trip and does not trust every S3-compatible store to agree.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** @throws AOF_ERR_UNAVAILABLE, AOF_ERR_CLOSED, AOF_ERR_INVALID_ARGUMENT (a malformed key) */
  async delete(key: string): Promise<void> {
    const Key = this.#fullKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key }));
    } catch (err) {
      // S3 answers 204 for a missing key; a few compatible stores say NoSuchKey instead.
      if (isService(err, 'NoSuchKey')) return;
      throw this.#unavailable('delete', key, err);
    }
  }

  /** Closes the client's sockets; later calls fail with AOF_ERR_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }
}
