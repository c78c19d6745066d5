/**
 * Issue 12: 10,000 streams on the default arena (128 MiB, 4 MiB segments: 32 segments' worth of
 * slots, 16,384 pages of windows), with the flush worker's open-file budget (`tier0.maxOpenFiles`)
 * set below the number of streams so that it is exercised. Checks, with real files and the real
 * flush worker:
 * - open segment files never exceed the budget (the stat), and the process's fds (/proc/self/fd)
 *   never exceed what it had before the first append by more than the budget and a small constant
 *   (the one directory fd of a segment create, Tier 1's footer reads, worker threads' handles);
 * - every stream's ids are dense and its records come back byte for byte, before close and after
 *   a reopen;
 * - streams whose active segment is not resident any more (their windows parked and evicted by
 *   appends to every other stream) are read correctly before close.
 * No timing assertions: the machine is shared.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { AofManager, type AofLog, type AofManagerOptions } from '../../src/index.js';
import { logCore } from '../../src/log.js';
import { verifyLog } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

/**
 * fds beyond the budget the run may hold at once: the directory fd of a segment create (1),
 * Tier 1's footer reads (32 at most, src/tier1/tier1.ts), and handles of worker threads started
 * during the run (compress, hydrate, upload: an eventfd and an epoll each) with room to spare.
 */
const FD_SLACK = 64;
/** Records per stream in the round-robin phase. */
const PER_STREAM = 3;
/** Streams read while their active segment is not resident (the first ones: the oldest windows). */
const PROBES = 10;
/**
 * The push: one record of PUSH_BYTES to each of PUSH_STREAMS streams after the probes, 64 MiB on
 * top of the 80 MiB of first windows in the 128 MiB arena (fewer, larger appends than one to every
 * stream: the same pressure, in a fraction of the time).
 */
const PUSH_STREAMS = 500;
const PUSH_BYTES = 128 * 1024;

const nameOf = (s: number): string => `s-${String(s).padStart(5, '0')}`;
/** Record r of stream s: distinct bytes per (s, r); round-robin records 100..1099 bytes, the push record PUSH_BYTES. */
const expected = (s: number, r: number): Uint8Array => payloadFor(s * 10 + r + 1, r < PER_STREAM ? 100 + ((s * 7 + r * 131) % 1000) : PUSH_BYTES);

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Highest open-segment-file count and process fd count seen, sampled on a timer and at checkpoints. */
class FdWatch {
  maxOpenSegmentFiles = 0;
  maxFds = 0;
  readonly #timer: NodeJS.Timeout;
  constructor(readonly manager: AofManager) {
    this.#timer = setInterval(() => this.sample(), 5);
    this.#timer.unref();
  }
  /** Also while the manager closes: it seals every segment then, reopening the files the budget closed. */
  sample(): void {
    const open = this.manager.stats().tier0.openSegmentFiles;
    if (open > this.maxOpenSegmentFiles) this.maxOpenSegmentFiles = open;
    const fds = fdCount();
    if (fds > this.maxFds) this.maxFds = fds;
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Appends `records(s)` to every stream, round-robin by record index, with `append` (waits on WouldBlock). */
async function roundRobin(logs: AofLog[], from: number, to: number, streams: (r: number) => Iterable<number>, watch: FdWatch): Promise<void> {
  for (let r = from; r < to; r++) {
    const calls: Promise<number>[] = [];
    let i = 0;
    for (const s of streams(r)) {
      calls.push(logs[s]!.append(expected(s, r)));
      // The timer samples only while this awaits; the flush worker works meanwhile.
      if (++i % 500 === 0) watch.sample();
    }
    const ids = await Promise.all(calls);
    for (const id of ids) assert.equal(id, r);
  }
}

async function verifyAll(logs: AofLog[], count: (s: number) => number): Promise<void> {
  for (let s = 0; s < logs.length; s++) await verifyLog(logs[s]!, (r) => expected(s, r), count(s));
}

interface Case {
  title: string;
  streams: number;
  options: Omit<AofManagerOptions, 'root'>;
  budget: number;
  /** Force the probes' windows out and read them before close. */
  push: boolean;
  /** flush() every stream before close (close seals every segment anyway: this syncs them first). */
  flush: boolean;
}

const cases: Case[] = [
  {
    title: "10,000 streams, default arena, fsync 'never', Tier 1 off, maxOpenFiles 256",
    streams: 10_000,
    options: { fsync: 'never', tier1: { enabled: false }, tier0: { maxOpenFiles: 256 } },
    budget: 256,
    push: true,
    flush: false,
  },
  {
    title: 'default options (Tier 1 and the local-directory Tier 2 on) but maxOpenFiles 128, 1,000 streams',
    streams: 1_000,
    options: { tier0: { maxOpenFiles: 128 } },
    budget: 128,
    push: false,
    flush: true,
  },
];

for (const c of cases) {
  test(`${c.title}: round-robin, open files within the budget, dense ids, bytes back before close and after a reopen`, async (t) => {
    const { root, cleanup } = tempRoot('aof2-10k-');
    // Phase durations, reported (never asserted): where the minutes go if this test grows slow.
    let mark = performance.now();
    const phase = (what: string): void => {
      const now = performance.now();
      t.diagnostic(`${what}: ${Math.round(now - mark)} ms`);
      mark = now;
    };
    t.after(cleanup);
    const manager = await AofManager.open({ root, ...c.options });
    const logs: AofLog[] = [];
    for (let s = 0; s < c.streams; s++) logs.push(await manager.openStream(nameOf(s)));
    assert.equal(manager.stats().tier0.maxOpenFiles, c.budget);
    // No segment exists before the first append: every fd from here on that is not the baseline's
    // is the run's.
    const baselineFds = fdCount();
    const watch = new FdWatch(manager);
    t.after(() => watch.stop());
    const all = (): Iterable<number> => logs.keys();
    await roundRobin(logs, 0, PER_STREAM, all, watch);
    phase('round-robin');

    // Pushed streams and the probes (theirs comes last) end with PER_STREAM + 1 records.
    const final = (s: number): number => (c.push && s < PROBES + PUSH_STREAMS ? PER_STREAM + 1 : PER_STREAM);
    if (c.push) {
      // One large record to each of the next streams: 64 MiB more than the arena has free. The probes'
      // windows are the oldest, so pressure relief parks them and their pages are reused.
      const others = function* (): Iterable<number> {
        for (let s = PROBES; s < PROBES + PUSH_STREAMS; s++) yield s;
      };
      await roundRobin(logs, PER_STREAM, PER_STREAM + 1, others, watch);
      phase('push');
      let notResident = 0;
      for (let s = 0; s < PROBES; s++) {
        const d = logCore(logs[s]!).describe();
        assert.ok(d.active, `probe ${s} still has its active segment`);
        if (d.resident === 0) notResident++;
      }
      t.diagnostic(`${notResident} of ${PROBES} probe streams have no page of their active segment in the arena`);
      assert.ok(notResident > 0, 'appending 160 MiB to the other streams evicted some probe windows');
      // Readers of those streams, before close: their records come from the segment files.
      for (let s = 0; s < PROBES; s++) await verifyLog(logs[s]!, (r) => expected(s, r), PER_STREAM);
      // And they keep appending where they were.
      for (let s = 0; s < PROBES; s++) assert.equal(await logs[s]!.append(expected(s, PER_STREAM)), PER_STREAM);
      phase('probe reads');
    }
    if (c.flush) {
      // Everything written and fsynced: files whose fd the budget closed are reopened to be synced.
      await Promise.all(logs.map((log) => log.flush()));
      phase('flush');
    }
    const stats = manager.stats();
    watch.sample();
    t.diagnostic(
      `open segment files: max ${watch.maxOpenSegmentFiles} of ${c.budget}; process fds: baseline ${baselineFds}, max ${watch.maxFds}; reopens ${stats.tier0.segmentFileReopens}`,
    );
    assert.ok(watch.maxOpenSegmentFiles <= c.budget, `open segment files ${watch.maxOpenSegmentFiles} within the budget ${c.budget}`);
    assert.ok(watch.maxFds - baselineFds <= c.budget + FD_SLACK, `process fds grew by ${watch.maxFds - baselineFds}, budget ${c.budget} + ${FD_SLACK}`);
    // More streams were written than the budget holds: files were closed and reopened.
    assert.ok(stats.tier0.segmentFileReopens > 0, 'the budget closed and reopened files');
    assert.equal(stats.arena.failed, 0);
    assert.equal(stats.failure, null);
    for (let s = 0; s < c.streams; s++) assert.equal(logs[s]!.nextId, final(s), `stream ${s}: ids dense`);
    if (!c.push) await verifyAll(logs, final);
    await manager.close();
    watch.stop();
    phase('verify and close');
    t.diagnostic(`with close: open segment files max ${watch.maxOpenSegmentFiles}, process fds max ${watch.maxFds}`);
    assert.ok(watch.maxOpenSegmentFiles <= c.budget, `open segment files ${watch.maxOpenSegmentFiles} within the budget ${c.budget} through close`);
    assert.ok(watch.maxFds - baselineFds <= c.budget + FD_SLACK, `process fds grew by ${watch.maxFds - baselineFds} through close, budget ${c.budget} + ${FD_SLACK}`);

    const reopened = await AofManager.open({ root, ...c.options });
    const logs2: AofLog[] = [];
    for (let s = 0; s < c.streams; s++) logs2.push(await reopened.openStream(nameOf(s)));
    phase('reopen');
    for (let s = 0; s < c.streams; s++) assert.equal(logs2[s]!.nextId, final(s), `stream ${s} after reopen`);
    await verifyAll(logs2, final);
    phase('verify after reopen');
    await reopened.close();
  });
}
