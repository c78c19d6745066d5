/**
 * Failpoints (workers/failpoints.ts) in this thread: parsing and validation of AOF2_FAILPOINTS and
 * the seeded draws. Their effect on real pools is test/integration/failpoints-pools.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, type AofError } from '../../../src/errors.js';
import { FAILPOINTS_ENABLED, MAX_FAILPOINT_DELAY_MS, MAX_FAILPOINT_IDLE_CORES, failpoint, failpointDelay, failpointDraw, parseFailpoints } from '../../../workers/failpoints.js';

describe('parseFailpoints', () => {
  test('parses the brief example; unset or blank means off', () => {
    const cfg = parseFailpoints('compress.crash=0.05,upload.crash=0.05,hydrate.crash=0.05,upload.error=0.2', '42');
    assert.deepEqual(cfg, {
      seed: 42,
      probabilities: { compress: { crash: 0.05, error: 0 }, hydrate: { crash: 0.05, error: 0 }, upload: { crash: 0.05, error: 0.2 }, flush: { crash: 0, error: 0 } },
      delayMs: { compress: 0, hydrate: 0, upload: 0, flush: 0 },
      idleCores: null,
    });
    assert.equal(parseFailpoints(undefined, '1'), null);
    assert.equal(parseFailpoints('  ', undefined), null);
    assert.deepEqual(parseFailpoints(' hydrate.error = 1 , ', '0x10')?.probabilities.hydrate, { crash: 0, error: 1 });
    assert.equal(parseFailpoints('hydrate.error=1', '0x10')?.seed, 16);
    const random = parseFailpoints('compress.error=0', undefined)!;
    assert.ok(Number.isInteger(random.seed) && random.seed >= 0 && random.seed < 2 ** 32);
  });

  test('delay: milliseconds per task, beside the probabilities', () => {
    const cfg = parseFailpoints('compress.delay=250, compress.error=0.1', '1')!;
    assert.deepEqual(cfg.delayMs, { compress: 250, hydrate: 0, upload: 0, flush: 0 });
    assert.deepEqual(cfg.probabilities.compress, { crash: 0, error: 0.1 });
    assert.equal(parseFailpoints('upload.delay=0', '1')!.delayMs.upload, 0);
    assert.equal(parseFailpoints(`hydrate.delay=${MAX_FAILPOINT_DELAY_MS}`, '1')!.delayMs.hydrate, MAX_FAILPOINT_DELAY_MS);
  });

  test('idlecores: the idle cores the compress pool reads instead of measuring them', () => {
    const cfg = parseFailpoints('compress.delay=40, compress.idlecores=2', '1')!;
    assert.equal(cfg.idleCores, 2);
    assert.equal(cfg.delayMs.compress, 40);
    assert.equal(parseFailpoints('compress.idlecores=0.5', '1')!.idleCores, 0.5);
    assert.equal(parseFailpoints(`compress.idlecores=${MAX_FAILPOINT_IDLE_CORES}`, '1')!.idleCores, MAX_FAILPOINT_IDLE_CORES);
    assert.equal(parseFailpoints('compress.delay=40', '1')!.idleCores, null, 'measured unless given');
  });

  test('failpointDelay resolves at once when failpoints are off', async () => {
    if (FAILPOINTS_ENABLED) return; // a run under AOF2_FAILPOINTS: the module constant is not ours to test
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) await failpointDelay('compress');
    assert.ok(performance.now() - t0 < 1000);
  });

  test('rejects unknown jobs and kinds, probabilities outside [0, 1], duplicates and bad seeds, naming the culprit', () => {
    const cases: [string, string | undefined, RegExp][] = [
      ['sealer.crash=0.1', undefined, /unknown job "sealer"/],
      ['compress.hang=0.1', undefined, /unknown kind "hang"/],
      ['compress.crash=1.5', undefined, /"1.5".*not a number in \[0, 1\]/],
      ['compress.crash=-0.1', undefined, /not a number in \[0, 1\]/],
      ['compress.crash=', undefined, /not a number/],
      ['compress.crash=abc', undefined, /not a number/],
      ['compress.crash', undefined, /not <job>.<kind>=<probability>/],
      ['compress.crash=0.1,compress.crash=0.2', undefined, /given twice/],
      ['compress.delay=10,compress.delay=20', undefined, /given twice/],
      ['compress.delay=1.5', undefined, /"1.5".*not an integer number of milliseconds/],
      ['compress.delay=-1', undefined, /not an integer number of milliseconds/],
      ['compress.delay=', undefined, /not an integer number of milliseconds/],
      [`compress.delay=${MAX_FAILPOINT_DELAY_MS + 1}`, undefined, /not an integer number of milliseconds/],
      ['compress.idlecores=-1', undefined, /idle cores "-1".*not a number in \[0, 4096\]/],
      ['compress.idlecores=', undefined, /not a number in \[0, 4096\]/],
      [`compress.idlecores=${MAX_FAILPOINT_IDLE_CORES + 1}`, undefined, /not a number in \[0, 4096\]/],
      ['compress.idlecores=1,compress.idlecores=2', undefined, /given twice/],
      ['hydrate.idlecores=1', undefined, /compress pool only/],
      ['compress.crash=0.1', '-1', /AOF2_FAILPOINTS_SEED/],
      ['compress.crash=0.1', '1.5', /AOF2_FAILPOINTS_SEED/],
      ['compress.crash=0.1', String(2 ** 32), /AOF2_FAILPOINTS_SEED/],
    ];
    for (const [spec, seed, message] of cases) {
      assert.throws(() => parseFailpoints(spec, seed), (err: AofError) => {
        assert.equal(err.code, ErrorCode.INVALID_ARGUMENT, spec);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  test('FAILPOINTS_ENABLED follows this process environment; when off, failpoint() is a no-op', () => {
    // Pools in these tests get an explicit env (envWith) either way; this checks the module constant.
    const spec = process.env['AOF2_FAILPOINTS'];
    assert.equal(FAILPOINTS_ENABLED, spec !== undefined && spec.trim() !== '');
    if (!FAILPOINTS_ENABLED) for (let i = 0; i < 1000; i++) failpoint('compress', 'test');
  });
});

describe('failpointDraw', () => {
  test('is a pure function of (seed, thread, call), uniform enough, and differs across threads and seeds', () => {
    assert.equal(failpointDraw(7, 3, 11), failpointDraw(7, 3, 11));
    const n = 100_000;
    let below = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const d = failpointDraw(7, 3, i);
      assert.ok(d >= 0 && d < 1);
      if (d < 0.2) below++;
      sum += d;
    }
    assert.ok(Math.abs(below / n - 0.2) < 0.01, `P(d < 0.2) = ${below / n}`);
    assert.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
    const seq = (seed: number, thread: number): number[] => Array.from({ length: 32 }, (_, i) => failpointDraw(seed, thread, i));
    assert.notDeepEqual(seq(7, 3), seq(7, 4));
    assert.notDeepEqual(seq(7, 3), seq(8, 3));
  });
});
