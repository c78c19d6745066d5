/**
 * `tier1.codec` end to end, through the engine's real compress and hydrate threads: a root written
 * with one zstd implementation reads back, record for record, when reopened with the other (files
 * on disk do not depend on which zstd wrote them), and `stats().tier1.codec` says which one the
 * threads use, and a fresh process shows that they load that one and no other (with zlib's zstd,
 * no addon is mapped at all), and that 'auto' falls back to zlib's zstd where the addon cannot
 * load. On a runtime without zlib's zstd (Node 20) only the addon is offered, and asking for
 * zlib's is refused at open.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test, type TestContext } from 'node:test';
import { offeredImplementations, resolveCodec, type CodecChoice, type ZstdImplementation } from '../../src/codec/zstd.js';
import { AofError, ErrorCode } from '../../src/errors.js';
import { AofManager, type AofManagerOptions } from '../../src/index.js';
import { verifyLog } from '../../support/engine.js';
import { compressionSettled, sealedCount, streamFiles, withTimeout } from '../../support/tier1-engine.js';
import { tempRoot } from '../../support/tmp.js';
import { jsonLikePayload } from '../../support/tier1.js';
import { seededRandom } from '../../src/seeded-random.js';

const CHILD = fileURLToPath(new URL('../../support/codec-child.js', import.meta.url));
const SEGMENT_BYTES = 64 * 1024;
const RECORDS = 1500; // ~1 KiB each: about 24 segments, far more than the arena's 4 slots
const OFFERED = offeredImplementations();

/** Record `id`'s payload: JSON-like text, so zstd has something to compress. */
const payloads = ((): Uint8Array[] => {
  const rand = seededRandom(14);
  return Array.from({ length: RECORDS }, (_, id) => jsonLikePayload(id, 1000, rand));
})();
const expected = (id: number): Uint8Array => payloads[id]!;

function options(root: string, codec: ZstdImplementation | 'auto'): AofManagerOptions {
  return { root, tier0: { arenaBytes: 4 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES, readChunkBytes: 16 * 1024 }, tier1: { codec, frameBytes: 8 * 1024 }, tier2: { kind: 'none' } };
}

for (const writer of OFFERED) {
  for (const reader of OFFERED) {
    test(`a root compressed with ${writer} reads back with ${reader}`, async (t) => {
      const { root, cleanup } = tempRoot('aof2-codec-');
      t.after(cleanup);
      const first = await AofManager.open(options(root, writer));
      const log = await first.openStream('s');
      for (let id = 0; id < RECORDS; id++) assert.equal(await withTimeout(log.append(expected(id)), 10_000, 'append'), id);
      await withTimeout(log.flush(), 10_000, 'flush');
      await compressionSettled(first, log);
      const sealed = sealedCount(log);
      const written = first.stats().tier1;
      assert.equal(written.codec, writer);
      assert.ok(sealed >= 10, `sealed ${sealed}`);
      assert.equal(written.segmentsCompressed, sealed, `every sealed segment compressed (${written.lastError})`);
      assert.ok(written.compressedBytes < written.rawBytesCompressed / 2, `compressed ${written.compressedBytes} of ${written.rawBytesCompressed}`);
      await first.close();
      assert.ok(streamFiles(root, 's').t1.length >= sealed);

      const second = await AofManager.open(options(root, reader));
      t.after(() => second.close());
      const again = await second.openStream('s');
      await verifyLog(again, expected, RECORDS);
      const read = second.stats().tier1;
      assert.equal(read.codec, reader);
      assert.ok(read.framesDecompressed > 0, 'records came back through the hydrate threads, from Tier 1 frames');
      assert.equal(read.hydrateFailures, 0, String(read.lastError));
    });
  }
}

test("'auto' is the addon where it loads", async (t) => {
  const { root, cleanup } = tempRoot('aof2-codec-auto-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier2: { kind: 'none' } });
  t.after(() => manager.close());
  assert.equal(manager.stats().tier1.codec, resolveCodec('auto'));
  assert.equal(manager.stats().tier1.codec, 'zstd-addon');
});

test("'zstd-zlib' where zlib has no zstd is refused at open with AOF_ERR_UNSUPPORTED_PLATFORM", { skip: OFFERED.includes('zstd-zlib') ? 'this runtime has zlib zstd' : false }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-codec-none-');
  t.after(cleanup);
  await assert.rejects(AofManager.open(options(root, 'zstd-zlib')), (err: unknown) => {
    assert.ok(err instanceof AofError);
    assert.equal(err.code, ErrorCode.UNSUPPORTED_PLATFORM);
    return true;
  });
});

const HIDE_ADDON = fileURLToPath(new URL('../../support/hide-zstd-addon.js', import.meta.url));

interface ChildReport {
  codec: string;
  compressed: number;
  framesDecompressed: number;
  recordsOk: number;
  addons: string[] | null;
}

/** Runs support/codec-child.js with `tier1.codec` = `choice` in a fresh process (optionally with the addon hidden). */
async function child(t: TestContext, choice: CodecChoice, hideAddon: boolean): Promise<ChildReport> {
  const { root, cleanup } = tempRoot('aof2-codec-child-');
  t.after(cleanup);
  const args = [...(hideAddon ? ['--import', HIDE_ADDON] : []), CHILD, root, choice];
  const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: 120_000 });
  const report = JSON.parse(stdout) as ChildReport;
  assert.ok(report.compressed >= 5 && report.framesDecompressed > 0, `${choice}: ${stdout}`);
  assert.equal(report.recordsOk, 600, `${choice}: every record read back`);
  assert.ok(report.addons !== null, 'Linux: /proc/self/maps lists what every thread loaded');
  return report;
}

const zstdAddonMapped = (report: ChildReport): boolean => report.addons!.some((path) => /zstd[^/]*\.node$/.test(path));

test('the worker threads load the configured zstd and no other (a fresh process, its mapped addons)', async (t) => {
  const choices: [CodecChoice, ZstdImplementation][] = [['auto', 'zstd-addon'], ...OFFERED.map((impl): [CodecChoice, ZstdImplementation] => [impl, impl])];
  for (const [choice, implementation] of choices) {
    const report = await child(t, choice, false);
    assert.equal(report.codec, implementation, choice);
    assert.equal(zstdAddonMapped(report), implementation === 'zstd-addon', `${choice}: mapped ${report.addons!.join(', ') || 'no addon'}`);
  }
});

test("where the addon cannot load, 'auto' falls back to zlib's zstd: nothing native is mapped", { skip: OFFERED.includes('zstd-zlib') ? false : 'zlib has no zstd on this runtime: no fallback' }, async (t) => {
  const report = await child(t, 'auto', true);
  assert.equal(report.codec, 'zstd-zlib');
  assert.equal(zstdAddonMapped(report), false, `mapped ${report.addons!.join(', ')}`);
});
