/**
 * The idle-core reading of the width controller (src/tier1/idle-cores.ts): computed from os.cpus()
 * time deltas (fed here as injected counter series with an injected clock), at most once per
 * SAMPLE_MS, restarted after a widen; and once against the real os.cpus() (with an injected clock:
 * unit tests do not wait).
 */
import assert from 'node:assert/strict';
import { availableParallelism, cpus, type CpuInfo } from 'node:os';
import { describe, test } from 'node:test';
import { IdleCoreSampler, SAMPLE_MS, fixedIdleCores } from '../../../src/tier1/idle-cores.js';

/** A core's counters (ms), the way os.cpus() reports them. */
function core(user: number, idle: number, sys = 0): CpuInfo {
  return { model: 'test', speed: 1000, times: { user, nice: 0, sys, idle, irq: 0 } };
}

/** A fake machine: `cpus()` returns `state`, counting its calls; `now()` returns `t`. */
function machine(initial: CpuInfo[]): { cpus: () => CpuInfo[]; now: () => number; set: (next: CpuInfo[]) => void; advance: (ms: number) => void; calls: () => number } {
  let state = initial;
  let t = 0;
  let calls = 0;
  return {
    cpus: () => {
      calls++;
      return state;
    },
    now: () => t,
    set: (next) => (state = next),
    advance: (ms) => (t += ms),
    calls: () => calls,
  };
}

describe('idle cores', () => {
  test('the idle share of all cores time between two samples, times the cores', () => {
    const m = machine([core(1000, 1000), core(1000, 1000)]);
    const sampler = new IdleCoreSampler(m.cpus, m.now);
    assert.equal(sampler.read(), 0, 'no window yet');
    m.advance(SAMPLE_MS);
    // Core 0 half busy, core 1 idle: 150 ms idle of 200.
    m.set([core(1050, 1050), core(1000, 1100)]);
    assert.equal(sampler.read(), 1.5);
    m.advance(SAMPLE_MS);
    // Both busy, with system time too: nothing idle.
    m.set([core(1100, 1050, 50), core(1100, 1100)]);
    assert.equal(sampler.read(), 0);
  });

  test('samples os.cpus() at most once per SAMPLE_MS, and keeps the last reading in between', () => {
    const m = machine([core(0, 0), core(0, 0), core(0, 0), core(0, 0)]);
    const sampler = new IdleCoreSampler(m.cpus, m.now);
    let idle = 0;
    for (let ms = 0; ms < 1000; ms++) {
      // Every core is idle three quarters of the time.
      idle += 0.75;
      m.set(Array.from({ length: 4 }, () => core(ms + 1 - idle, idle)));
      m.advance(1);
      const reading = sampler.read();
      if (ms >= SAMPLE_MS) assert.ok(Math.abs(reading - 3) < 1e-9, `reading ${reading} at ${ms} ms`);
    }
    assert.ok(m.calls() <= 1 + 1000 / SAMPLE_MS, `${m.calls()} samples in 1000 ms`);
  });

  test('restart: the reading starts over from now (0 until a window after it is complete)', () => {
    const m = machine([core(0, 0), core(0, 0)]);
    const sampler = new IdleCoreSampler(m.cpus, m.now);
    sampler.read();
    m.advance(SAMPLE_MS);
    m.set([core(0, 100), core(0, 100)]);
    assert.equal(sampler.read(), 2, 'an idle machine');
    // A widen: the new thread makes one core busy from now on.
    sampler.restart();
    assert.equal(sampler.read(), 0, 'nothing measured since the restart');
    m.advance(SAMPLE_MS);
    m.set([core(100, 100), core(0, 200)]);
    assert.equal(sampler.read(), 1, 'only the time after the restart counts');
  });

  test('no reading from a window where the cores changed or the counters went back; never more than the cores', () => {
    const m = machine([core(100, 100), core(100, 100)]);
    const sampler = new IdleCoreSampler(m.cpus, m.now);
    sampler.read();
    m.advance(SAMPLE_MS);
    m.set([core(100, 200), core(100, 200), core(0, 0)]);
    assert.equal(sampler.read(), 0, 'a core came online');
    m.advance(SAMPLE_MS);
    m.set([core(100, 150), core(100, 150), core(0, 0)]);
    assert.equal(sampler.read(), 0, 'idle counters went back');
    m.advance(SAMPLE_MS);
    m.set([core(100, 250), core(100, 250), core(0, 100)]);
    assert.equal(sampler.read(), 3);
    m.advance(SAMPLE_MS);
    m.set([]);
    assert.equal(sampler.read(), 0, 'os.cpus() reported nothing');
  });

  test('against the real os.cpus(): a reading between 0 and the cores', () => {
    // The real counters, the clock injected (unit tests do not wait): some CPU work between the
    // two samples so the counters can move.
    let t = 0;
    const sampler = new IdleCoreSampler(cpus, () => t);
    assert.equal(sampler.read(), 0);
    let x = 0;
    for (let i = 0; i < 5_000_000; i++) x += Math.sqrt(i);
    assert.ok(x > 0);
    t += SAMPLE_MS;
    const reading = sampler.read();
    assert.ok(reading >= 0 && reading <= Math.max(cpus().length, availableParallelism()), `reading ${reading}`);
  });

  test('a fixed reading (the compress.idlecores failpoint) is what it says, and restart changes nothing', () => {
    const fixed = fixedIdleCores(2.5);
    assert.equal(fixed.read(), 2.5);
    fixed.restart();
    assert.equal(fixed.read(), 2.5);
  });
});
