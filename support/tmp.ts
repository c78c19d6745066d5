/** Temporary roots and deterministic payloads: the helpers nearly every test and chaos scenario uses. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh directory under the OS temp dir, removed by the returned cleanup together with
 * `<root>-tier2`, the local-directory Tier 2 many tests name beside it (there is no default one).
 */
export function tempRoot(prefix = 'aof2-test-'): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return {
    root,
    cleanup: () => {
      rmSync(root, { recursive: true, force: true });
      rmSync(`${root}-tier2`, { recursive: true, force: true });
    },
  };
}

/** Deterministic payload for record `id` of `size` bytes, so readers can verify bytes without storing them. */
export function payloadFor(id: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (id * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** True when `a` and `b` hold the same bytes (lengths included). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
