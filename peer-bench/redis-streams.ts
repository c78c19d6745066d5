/**
 * redis-streams: aof2's live tail against the peer users pick for the job, Redis Streams on
 * loopback (issue 15). Every side runs tail-workload.ts: 100 B records paced on `setImmediate`
 * turns by native-free-bench/pacing.ts (the pacer of native-free-bench/live-tail.ts too), each
 * stamped with its append time, and a consumer that reports how long each record took to reach it.
 * Two paces: 100,000/s, the issue's, and 10,000/s, where Redis through ioredis keeps up (at
 * 100,000/s its per-record XADDs and the XREAD replies need more than the one thread they share, so
 * it falls behind and its latency becomes queueing: the report shows its rate).
 *
 *   aof2 follow        `appendSync` per record; `for await (... of log.follow({ from, signal }))`
 *                      (aof2-tail.ts), default options (`fsync: 'interval'`, 1 s), in this process
 *   aof2 follow, read-only process
 *                      the same writer here, on a root of its own; the consumer is `log.follow()`
 *                      on a read-only manager (`readOnly: true`) in a child process
 *                      (read-only-tail.ts, tail-follower.ts), its latencies timed on
 *                      CLOCK_MONOTONIC, which both processes read, and sent back as an HDR
 *                      histogram; at default options and with `tier0.writeDelayMs: 0`
 *   Redis, in memory   `XADD key * d <record>` per record through ioredis; a second connection
 *                      loops on `XREAD COUNT 1000 BLOCK 0 STREAMS key <last id>` (redis-tail.ts);
 *                      redis-server with `--appendonly no --save ''`: nothing on disk
 *   Redis, AOF everysec  the same against a second redis-server with `--appendonly yes
 *                      --appendfsync everysec`: each XADD written to the AOF before its reply,
 *                      fsync'd once a second, the counterpart of aof2's default
 *   Redis, pipelined   the in-memory server, a turn's XADDs sent as one pipeline (reported, no
 *                      target: a batching the app does on purpose)
 *   Redis, consumer in another process
 *                      the in-memory server, the XREAD loop in a child process (tail-follower.ts),
 *                      timed as the read-only side: compared with the read-only sides only
 *
 * The redis-servers are started here (redis-server.ts) on free loopback ports and stopped in
 * `finally`; without redis-server installed the suite is skipped, saying which apt command
 * installs it. The sides alternate window by window (a warm-up window each, then rounds of every
 * pace and side), so load on the machine hits each alike. Each side's consumer must see every
 * record once, in order; every 1,000th is compared byte for byte; the stores are counted (aof2's
 * nextId, Redis's XLEN); a read-only side also checks the shared clock (follower-process.ts).
 *
 * Target (issue 15): aof2's append-to-follow latency beats Redis Streams' at p50 and at p99 in the
 * same run, in-process and from a read-only process, attached to the per-record rows at both
 * paces. The ratio column is Redis's p50 / aof2's p50 (above 1: aof2 is faster); p99's is a note.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempRoot } from '../native-free-bench/fixtures.js';
import { formatNs, formatRate, formatRatio, ratioResult, SuiteSkipped, type BenchResult, type Measurement, type Suite, type SuiteOptions, type Target } from '../native-free-bench/shared.js';
import { Aof2FollowSide } from './aof2-tail.js';
import { ensurePeerLibraries } from './install.js';
import { loadPeerLibraries } from './libraries.js';
import { findRedisServer, REDIS_INSTALL_HINT, RedisServer, redisServerVersion, type RedisPersistence } from './redis-server.js';
import { FollowerProcess } from './follower-process.js';
import { ReadOnlyFollowSide } from './read-only-tail.js';
import { RedisTailSide } from './redis-tail.js';
import { RECORD_BYTES, TailTally, TARGET_RATE, type TailSide } from './tail-workload.js';
import type { AofManagerOptions } from '../src/index.js';

const SUITE = 'redis-streams';
/** Issue 15's pace, and one Redis keeps through ioredis in one process (see the top of this file). */
const RATES = [TARGET_RATE, TARGET_RATE / 10] as const;
/** Below this share of its pace a side "fell behind" (a note says so under the row). */
const KEPT_PACE = 0.95;

/** One Redis configuration under test, as it is named in the report. */
interface RedisCase {
  name: string;
  persistence: RedisPersistence;
  pipelined: boolean;
  /** The XREAD loop in a child process (tail-follower.ts) instead of a second connection here. */
  consumerInChild: boolean;
  how: string;
}

const REDIS_CASES: readonly RedisCase[] = [
  {
    name: 'Redis XADD + XREAD BLOCK, in memory',
    persistence: 'none',
    pipelined: false,
    consumerInChild: false,
    how: "redis-server --appendonly no --save '': nothing on disk (aof2 writes its segment files)",
  },
  {
    name: 'Redis XADD + XREAD BLOCK, AOF everysec',
    persistence: 'aof-everysec',
    pipelined: false,
    consumerInChild: false,
    how: "redis-server --appendonly yes --appendfsync everysec --save '': each XADD in the AOF before its reply, fsync'd every second, like aof2's default fsync: 'interval' (1 s)",
  },
  {
    name: 'Redis pipelined XADD + XREAD BLOCK, in memory',
    persistence: 'none',
    pipelined: true,
    consumerInChild: false,
    how: "the in-memory server; each turn's XADDs (1-32) sent as one pipeline (one write): reported, no target",
  },
  {
    name: 'Redis XADD + XREAD BLOCK, in memory, consumer in another process',
    persistence: 'none',
    pipelined: false,
    consumerInChild: true,
    how: "the in-memory server; the XREAD BLOCK loop in a child process (tail-follower.ts), timed on CLOCK_MONOTONIC as the read-only side's: the like-for-like of aof2's read-only process",
  },
];

/** The Redis cases the in-process aof2 side is compared with: consumers in the writer's process, as its own. */
const IN_PROCESS_PEERS = REDIS_CASES.filter((c) => !c.consumerInChild);

/** One read-only side: the writer here, the follower in a child process (read-only-tail.ts). */
interface ReadOnlyCase {
  name: string;
  /** Its root's directory under the run's temp root. */
  label: string;
  /** The writer's options, which the follower opens the root with too. */
  options: Partial<AofManagerOptions>;
  how: string;
}

const READ_ONLY_CASES: readonly ReadOnlyCase[] = [
  {
    name: 'aof2 follow, read-only process',
    label: 'aof2-read-only',
    options: {},
    how: "writer at default options: the follower, waiting at the tail, announces itself, so the writer writes each append at once (tier0.followedWriteDelayMs 0); then the follower's fs.watch refresh",
  },
  {
    name: 'aof2 follow, read-only process, writeDelayMs 0',
    label: 'aof2-read-only-no-delay',
    options: { tier0: { writeDelayMs: 0 } },
    how: 'writer with tier0.writeDelayMs 0 (for a follower the writer cannot see: docs/operations.md): each append rings the flush worker, which writes at once, announced follower or not',
  },
];

/** The Redis cases a read-only side is compared with: the per-record ones, which carry the targets. */
const READ_ONLY_PEERS = REDIS_CASES.filter((c) => !c.pipelined);

/** aof2 beats Redis on `what`: Redis's figure / aof2's is above 1. */
function beats(what: string, ratio: number): Target {
  return { name: `${what} latency, Redis / aof2`, want: '> 1x', actual: ratio, met: ratio > 1 };
}

/** `100k/s`, `10k/s`. */
function paceText(rate: number): string {
  return `${rate / 1000}k/s`;
}

/** A note when `m` wrote slower than `rate` (its windows ran long: the writes cost more than the pace allows). */
function fellBehind(m: Measurement, rate: number): string[] {
  if (m.ratePerSec >= rate * KEPT_PACE) return [];
  return [`${m.name} fell behind the pace: ${formatRate(m.ratePerSec)} of ${paceText(rate)} written; its latency is mostly queueing`];
}

export const redisStreams: Suite = {
  name: SUITE,
  description: `aof2 log.follow() vs Redis Streams (XADD, XREAD BLOCK via ioredis) on loopback: append-to-consumer latency, ${RECORD_BYTES} B at ${RATES.map(paceText).join(' and ')}`,
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const binary = findRedisServer();
    if (binary === null) {
      const override = process.env['AOF2_REDIS_SERVER'];
      const looked = override !== undefined && override !== '' ? `$AOF2_REDIS_SERVER=${override} is not an executable file` : 'not on PATH nor in /usr/bin, /usr/sbin, /usr/local/bin';
      throw new SuiteSkipped(`redis-server is not installed (${looked}); install it with: ${REDIS_INSTALL_HINT}`);
    }
    const version = await redisServerVersion(binary);
    await ensurePeerLibraries(options.progress);
    const libraries = loadPeerLibraries();
    const { warmupMs, windowMs, rounds } = options.quick ? { warmupMs: 100, windowMs: 400, rounds: 1 } : { warmupMs: 500, windowMs: 2000, rounds: 4 };
    const dirs = tempRoot(SUITE);
    const servers = new Map<RedisPersistence, RedisServer>();
    const sides: TailSide[] = [];
    const closed = new Set<TailSide>();
    try {
      for (const persistence of new Set(REDIS_CASES.map((c) => c.persistence))) {
        const dir = join(dirs.root, `redis-${persistence}`);
        mkdirSync(dir);
        servers.set(persistence, await RedisServer.start(binary, persistence, dir));
        options.progress(`${SUITE}: redis-server ${version} (${persistence}) on 127.0.0.1:${servers.get(persistence)!.port}`);
      }
      sides.push(await Aof2FollowSide.open(dirs.root));
      for (const c of REDIS_CASES) {
        const server = servers.get(c.persistence)!;
        const consumer = c.consumerInChild ? await FollowerProcess.start({ kind: 'redis', port: server.port }) : null;
        sides.push(await RedisTailSide.open(libraries, server, c.name, c.pipelined, consumer));
      }
      for (const c of READ_ONLY_CASES) sides.push(await ReadOnlyFollowSide.open(dirs.root, c.label, c.name, c.options));
      const tallies = RATES.map(() => sides.map(() => new TailTally()));
      options.progress(`${SUITE}: warming up each side for ${warmupMs} ms`);
      for (const side of sides) await side.window(warmupMs, RATES[0], null);
      for (let r = 0; r < rounds; r++) {
        for (const [p, rate] of RATES.entries()) {
          options.progress(`${SUITE}: round ${r + 1} of ${rounds}, ${windowMs} ms of records per side at ${paceText(rate)}`);
          for (const [i, side] of sides.entries()) {
            options.gc();
            await side.window(windowMs, rate, tallies[p]![i]!);
          }
        }
      }
      const verified = sides.map((side, i) => side.verifications(i === 0 || side instanceof ReadOnlyFollowSide ? 'subject' : 'baseline'));
      for (const side of sides) {
        closed.add(side);
        await side.close();
      }
      const compare = (rate: number, p: number, i: number, c: RedisCase, k: number, how: string): BenchResult => {
        const subject = tallies[p]![i]!.measurement(sides[i]!.name);
        const baseline = tallies[p]![k]!.measurement(sides[k]!.name);
        const p50 = baseline.latency.p50 / subject.latency.p50;
        const p99 = baseline.latency.p99 / subject.latency.p99;
        return ratioResult({
          suite: SUITE,
          case: `${sides[i]!.name} vs ${c.name} (${RECORD_BYTES} B at ${paceText(rate)})`,
          subject,
          baseline,
          ratio: p50,
          ratioOf: 'p50 latency from append to consumer, Redis / aof2 (above 1: aof2 is faster)',
          targets: c.pipelined ? [] : [beats('p50', p50), beats('p99', p99)],
          verified: [...verified[i]!, ...verified[k]!],
          notes: [
            `p99: Redis ${formatNs(baseline.latency.p99)} / aof2 ${formatNs(subject.latency.p99)} = ${formatRatio(p99)}x; p99.9: Redis ${formatNs(baseline.latency.p999)}, aof2 ${formatNs(subject.latency.p999)}`,
            `redis-server ${version}: ${c.how}`,
            ...(how === '' ? [] : [how]),
            ...fellBehind(subject, rate),
            ...fellBehind(baseline, rate),
          ],
        });
      };
      const redisIndex = (c: RedisCase): number => 1 + REDIS_CASES.indexOf(c);
      return RATES.flatMap((rate, p) => [
        ...IN_PROCESS_PEERS.map((c) => compare(rate, p, 0, c, redisIndex(c), '')),
        ...READ_ONLY_CASES.flatMap((r, j) => READ_ONLY_PEERS.map((c) => compare(rate, p, 1 + REDIS_CASES.length + j, c, redisIndex(c), `aof2: ${r.how}`))),
      ]);
    } finally {
      for (const side of sides) if (!closed.has(side)) await side.close().catch(() => undefined);
      for (const server of servers.values()) await server.stop().catch(() => undefined);
      dirs.cleanup();
    }
  },
};
