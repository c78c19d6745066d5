/**
 * The engine and aof2-admin agree on every damaged manifest of a seeded corpus (issue 11).
 *
 * A real manifest is written first (ManifestLog: three chunks or more through rotation, two
 * snapshots, records after the newest one). Each case copies it and damages it, deterministically
 * from the seed: a torn tail (garbage past the committed length), a truncation, a bit flip in a
 * chunk header, in a record, in a record's CRC field, in a chunk CRC, a missing chunk, a damaged or
 * truncated snapshot, a leftover temp file, or two of these at once. Then, on copies of the case:
 * - aof2-admin's reading (`readManifest`, and `manifest inspect` / `verify` run in-process);
 * - ManifestLog.open non-strict: the same catalog, the same number of problems (corruption
 *   events), the same repairs carried out (each truncated file has the length admin predicted);
 * - ManifestLog.open strict: rejects with AOF_ERR_CORRUPT naming the file and offset of admin's
 *   first problem exactly when admin found one, opens otherwise.
 * Either both sides throw the same code or neither does. No process, no sleep.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { runManifestInspect } from '../../../src/cli/admin/manifest-inspect.js';
import { readManifest, type ManifestReading } from '../../../src/cli/admin/manifest-reader.js';
import { runVerify } from '../../../src/cli/admin/verify.js';
import type { Io } from '../../../src/cli/admin/output.js';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { CHUNK_HEADER_BYTES, ManifestRecordType, type ManifestRecord } from '../../../src/format/manifest.js';
import { MANIFEST_DIR, manifestDir, parseChunkFileName, parseSnapshotFileName, tempPath } from '../../../src/format/root-layout.js';
import { ManifestLog } from '../../../src/manifest/manifest-log.js';
import { seededRandom } from '../../../src/seeded-random.js';
import { tempRoot } from '../../../support/tmp.js';

const SEED = 0x11_2e91a;
const CASES = 240;
/** Cases also run through `manifest inspect --json` and `verify` (slower: they print). */
const COMMAND_EVERY = 8;

const KINDS = ['tail', 'truncate', 'header-flip', 'record-flip', 'record-crc', 'chunk-crc', 'missing-chunk', 'snapshot-flip', 'snapshot-truncate', 'temp'] as const;
type Kind = (typeof KINDS)[number];

function nullIo(): { io: Io; text: () => string } {
  let out = '';
  const sink = (keep: boolean): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (keep) out += chunk.toString();
        cb();
      },
    });
  return { io: { out: sink(true), err: sink(false) }, text: () => out };
}

function sealed(stream: string, baseId: number): ManifestRecord {
  return { type: ManifestRecordType.SEALED, stream, baseId, fields: { recordCount: 100, dataBytes: 4000, dataCrc: baseId, maxTimeSec: 1 } };
}

/** Writes the pristine manifest into `dir`: several chunks, two snapshots, records after them. */
async function writeBase(dir: string): Promise<void> {
  const { manifest } = await ManifestLog.open({ dir, chunkBytes: 512, snapshotEvery: Infinity });
  let id = 0;
  const batch = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const stream = i % 3 === 0 ? 'orders' : 'payments.eu';
      const baseId = id++ * 100;
      await manifest.append([sealed(stream, baseId)]);
      if (i % 4 === 1) await manifest.append([{ type: ManifestRecordType.COMPRESSION_STARTED, stream, baseId, fields: { attempt: 1 } }]);
      if (i % 4 === 1) await manifest.append([{ type: ManifestRecordType.COMPRESSION_DONE, stream, baseId, fields: { compressedBytes: 900, frameCount: 2 } }]);
    }
  };
  await batch(14);
  await manifest.snapshot();
  await batch(12);
  await manifest.snapshot();
  await batch(10);
  await manifest.close();
}

/** Record offsets of a chunk image with a usable header, walked by length fields (good enough to aim damage). */
function recordOffsets(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const committed = bytes.length >= CHUNK_HEADER_BYTES ? v.getUint32(12, true) : 0;
  const out: number[] = [];
  for (let off = CHUNK_HEADER_BYTES; off + 12 <= Math.min(bytes.length, CHUNK_HEADER_BYTES + committed); ) {
    out.push(off);
    off += (12 + v.getUint32(off, true) + 7) & ~7;
  }
  return out;
}

/** Applies one seeded damage of `kind` to the manifest directory `dir`; returns a description. */
function damage(dir: string, kind: Kind, rnd: () => number): string {
  const names = readdirSync(dir).sort();
  const chunks = names.filter((n) => parseChunkFileName(n) !== null);
  const snaps = names.filter((n) => parseSnapshotFileName(n) !== null);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (n: number): number => Math.floor(rnd() * n);
  const edit = (name: string, fn: (b: Uint8Array) => Uint8Array): void => {
    const path = join(dir, name);
    writeFileSync(path, fn(new Uint8Array(readFileSync(path))));
  };
  const flip = (b: Uint8Array, at: number): Uint8Array => {
    if (at < b.length) b[at]! ^= 1 << int(8);
    return b;
  };
  switch (kind) {
    case 'tail': {
      const name = pick(chunks);
      const extra = Uint8Array.from({ length: 1 + int(60) }, () => int(256));
      edit(name, (b) => Uint8Array.from([...b, ...extra]));
      return `${name}: ${extra.length} garbage bytes appended`;
    }
    case 'truncate': {
      const name = pick(chunks);
      let cut = 0;
      edit(name, (b) => b.subarray(0, (cut = int(b.length))));
      return `${name}: cut to ${cut}`;
    }
    case 'header-flip': {
      const name = pick(chunks);
      const at = int(CHUNK_HEADER_BYTES);
      edit(name, (b) => flip(b, at));
      return `${name}: bit flip in the header at ${at}`;
    }
    case 'record-flip':
    case 'record-crc': {
      const name = pick(chunks);
      let where = '';
      edit(name, (b) => {
        const offs = recordOffsets(b);
        if (offs.length === 0) return b;
        const off = pick(offs);
        const at = kind === 'record-crc' ? off + 8 + int(4) : off + int(12 + new DataView(b.buffer, b.byteOffset).getUint32(off, true));
        where = `at ${at}`;
        return flip(b, at);
      });
      return `${name}: bit flip in a record ${where}`;
    }
    case 'chunk-crc': {
      const name = pick(chunks);
      const at = 28 + int(4);
      edit(name, (b) => flip(b, at));
      return `${name}: bit flip in the chunk CRC field`;
    }
    case 'missing-chunk': {
      const name = pick(chunks);
      rmSync(join(dir, name));
      return `${name}: removed`;
    }
    case 'snapshot-flip': {
      const name = pick(snaps);
      let at = 0;
      edit(name, (b) => flip(b, (at = int(b.length))));
      return `${name}: bit flip at ${at}`;
    }
    case 'snapshot-truncate': {
      const name = pick(snaps);
      edit(name, (b) => b.subarray(0, int(b.length)));
      return `${name}: truncated`;
    }
    case 'temp': {
      writeFileSync(tempPath(join(dir, pick(chunks))), Uint8Array.from({ length: int(100) }, () => int(256)));
      return 'temp file left';
    }
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; error: unknown };

async function attempt<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    if (!(error instanceof AofError)) throw error;
    return { ok: false, code: error.code, error };
  }
}

function sizes(dir: string): Map<string, number> {
  return new Map(readdirSync(dir).map((n) => [n, statSync(join(dir, n)).size]));
}

describe('engine and aof2-admin replay agree on damaged manifests', () => {
  let work: { root: string; cleanup: () => void };
  const base = (): string => manifestDir(join(work.root, 'base'));

  before(async () => {
    work = tempRoot('aof2-replay-agree-');
    mkdirSync(base(), { recursive: true });
    await writeBase(base());
  });
  after(() => work.cleanup());

  test(`${CASES} seeded cases`, async () => {
    const rnd = seededRandom(SEED);
    const detected = new Map<Kind, number>(KINDS.map((k) => [k, 0]));
    const pristine = await readManifest(join(work.root, 'base'));
    assert.deepEqual(pristine.problems, [], 'the base manifest is clean');
    assert.ok(pristine.chunks.length >= 3 && pristine.snapshots.length === 2, `base: ${pristine.chunks.length} chunks, ${pristine.snapshots.length} snapshots`);

    for (let c = 0; c < CASES; c++) {
      const root = join(work.root, `case-${c}`);
      const dir = manifestDir(root);
      cpSync(base(), dir, { recursive: true });
      const kinds: Kind[] = [KINDS[c % KINDS.length]!];
      if (rnd() < 0.25) kinds.push(KINDS[Math.floor(rnd() * KINDS.length)]!);
      const what = kinds.map((k) => damage(dir, k, rnd)).join('; ');
      const at = `case ${c} (${what})`;
      const strictDir = join(root, 'strict');
      cpSync(dir, strictDir, { recursive: true });
      const before = sizes(dir);

      const admin = await attempt(() => readManifest(root));
      const engine = await attempt(() => ManifestLog.open({ dir, strict: false }));
      const strict = await attempt(() => ManifestLog.open({ dir: strictDir, strict: true }));
      if (engine.ok) await engine.value.manifest.close();
      if (strict.ok) await strict.value.manifest.close();

      if (!admin.ok) {
        // A newer aof2's file (a flip that lands on a version and still checks out): both refuse alike.
        assert.equal(engine.ok, false, `${at}: admin threw ${admin.code}, the engine opened`);
        if (!engine.ok) assert.equal(engine.code, admin.code, at);
        rmSync(root, { recursive: true });
        continue;
      }
      assert.ok(engine.ok, `${at}: admin read it, the engine threw ${engine.ok ? '' : String(engine.error)}`);
      const m: ManifestReading = admin.value;
      const { catalog, report } = engine.value;

      // The same catalog, the same damage, the same repairs.
      assert.deepEqual(catalog.toSnapshotStreams(), m.catalog.toSnapshotStreams(), `${at}: catalogs differ`);
      assert.equal(report.corruptionEvents, m.problems.length, `${at}: engine counted ${report.corruptionEvents}, admin listed ${JSON.stringify(m.problems)}`);
      assert.equal(report.snapshotSeq, m.replay.snapshotSeq, at);
      assert.equal(report.chunkCount, m.replay.chunks, at);
      assert.equal(report.recordsReplayed, m.replay.records, at);
      assert.equal(report.orphanRecords, m.replay.orphans, at);
      assert.equal(report.trimmedChunks, m.repairs.filter((r) => r.kind !== 'remove').length, at);
      assert.equal(report.tempFilesRemoved, m.tempFiles.length, at);
      const after = sizes(dir);
      for (const r of m.repairs) {
        const name = basename(r.file);
        if (r.kind === 'remove') assert.equal(after.has(name), false, `${at}: ${name} not removed`);
        else assert.equal(after.get(name), r.truncateTo, `${at}: ${name} repaired to ${after.get(name)}, admin said ${r.truncateTo}`);
      }
      for (const [name, size] of before) {
        if (!m.repairs.some((r) => basename(r.file) === name)) assert.equal(after.get(name), size, `${at}: ${name} changed without a repair`);
      }

      // Strict: rejects on exactly admin's first problem.
      const first = m.problems[0];
      if (first === undefined) {
        assert.ok(strict.ok, `${at}: strict open failed on a manifest admin finds clean: ${strict.ok ? '' : String(strict.error)}`);
      } else {
        assert.equal(strict.ok, false, `${at}: strict open succeeded, admin found ${first.message}`);
        if (!strict.ok) {
          assert.equal(strict.code, ErrorCode.CORRUPT, at);
          const details = (strict.error as AofError).details ?? {};
          assert.equal(basename(String(details['path'])), basename(first.file), at);
          assert.equal(details['offset'], first.offset, at);
        }
        for (const k of kinds) detected.set(k, detected.get(k)! + 1);
      }

      // The commands print the same verdict (in-process, on the untouched strict copy's twin).
      if (c % COMMAND_EVERY === 0) {
        const cmdRoot = join(root, 'cmd');
        mkdirSync(cmdRoot);
        cpSync(strictDir, manifestDir(cmdRoot), { recursive: true });
        const inspect = nullIo();
        const code = await runManifestInspect(cmdRoot, { json: true }, inspect.io);
        const json = JSON.parse(inspect.text()) as { problems: unknown[] };
        assert.equal(code, m.problems.length > 0 ? 1 : 0, at);
        assert.deepEqual(json.problems, m.problems, at);
        const verify = nullIo();
        const vcode = await runVerify(cmdRoot, { json: true, progress: false }, verify.io);
        const vjson = JSON.parse(verify.text()) as { problems: { file: string }[] };
        assert.deepEqual(
          vjson.problems.filter((p) => p.file.startsWith(`${MANIFEST_DIR}/`)),
          m.problems,
          `${at}: verify's manifest problems`,
        );
        if (m.problems.length > 0) assert.equal(vcode, 1, at);
      }
      rmSync(root, { recursive: true });
    }
    // The corpus exercises every kind, and every kind but a torn tail or a temp file is seen as damage.
    for (const k of KINDS) {
      if (k === 'tail' || k === 'temp') continue;
      assert.ok(detected.get(k)! > 0, `no case of ${k} was detected: ${JSON.stringify([...detected])}`);
    }
  });

  test('a torn tail or a temp file alone is not damage, and both sides say what the open repairs', async () => {
    for (const kind of ['tail', 'temp'] as const) {
      const root = join(work.root, `clean-${kind}`);
      const dir = manifestDir(root);
      cpSync(base(), dir, { recursive: true });
      damage(dir, kind, seededRandom(7));
      const m = await readManifest(root);
      assert.deepEqual(m.problems, [], kind);
      assert.equal(m.repairs.length, 1, kind);
      const { manifest, report } = await ManifestLog.open({ dir, strict: true });
      await manifest.close();
      assert.equal(report.corruptionEvents, 0);
      assert.equal(report.trimmedChunks + report.tempFilesRemoved, 1, kind);
      assert.deepEqual((await readManifest(root)).repairs, [], `${kind}: nothing left to repair after the open`);
      rmSync(root, { recursive: true });
    }
  });
});
