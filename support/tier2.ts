/**
 * Builders for the Tier 2 tests: real .t1 files written by the real compress code (in this thread,
 * as make-tier1-fixture.ts does), the compiled upload worker, and a walk of a local-directory
 * store that sees everything on disk (temp files included, which `list` hides on purpose).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadZstd } from '../src/codec/zstd.js';
import { compressSegment } from '../workers/compress.js';
import type { CompressResult } from '../workers/tier1-protocol.js';
import type { ByteRange, ObjectInfo, ObjectStore } from '../src/tier2/object-store.js';
import type { FrameSpec } from './frames.js';
import { arenaImage, type ArenaImage } from './tier1.js';

/** Compiled upload worker entry file, resolved from dist/support/. */
export const UPLOAD_WORKER = new URL('../workers/upload.js', import.meta.url).href;

/** A Tier 1 file written by the real compress task: its path, the task's result, the source image and the bytes on disk. */
export interface Tier1File {
  path: string;
  result: CompressResult;
  img: ArenaImage;
  /** The whole file as written. */
  bytes: Uint8Array;
}

/** Compresses `records` into a .t1 file at `path` (level 3, fixed createdAt: reproducible). */
export async function writeTier1(path: string, baseId: number, records: readonly FrameSpec[], frameTarget: number): Promise<Tier1File> {
  const img = arenaImage(records, 64);
  const codec = loadZstd();
  const result = await compressSegment(
    {
      source: { kind: 'arena', sab: img.sab, offset: img.offset },
      dataBytes: img.dataBytes,
      recordCount: img.recordCount,
      baseId,
      dataCrc: img.dataCrc,
      level: 3,
      codec: codec.implementation,
      frameTarget,
      targetPath: path,
      createdAt: 1_700_000_000_000,
    },
    codec,
  );
  return { path, result, img, bytes: new Uint8Array(readFileSync(path)) };
}

/** Every file under `root` (relative, `/`-separated, sorted), temp files included. */
export function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p).split('\\').join('/'));
    }
  };
  try {
    walk(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return out.sort();
}

/**
 * An object store that forwards every call to a real one; a test overrides the calls it watches
 * (recording ranges) or breaks on purpose (a store that loses bytes).
 */
export class DelegatingStore implements ObjectStore {
  readonly location: string;
  constructor(protected readonly inner: ObjectStore) {
    this.location = inner.location;
  }
  put(key: string, body: Uint8Array): Promise<void> {
    return this.inner.put(key, body);
  }
  get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    return this.inner.get(key, range);
  }
  size(key: string): Promise<number | null> {
    return this.inner.size(key);
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
