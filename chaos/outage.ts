/**
 * Scenario `outage`: a real S3 server (moto, started through support/s3-server.ts) behind a
 * latency proxy on loopback (chaos/latency-proxy.ts). While a writer ingests 1,000-byte records
 * into a stream whose Tier 1 budget holds six segments, a controller alternates:
 *   normal → server frozen (SIGSTOP: connections accepted, nothing answers) for a few seconds →
 *   resumed (SIGCONT) → slow (every chunk delayed by 150-300 ms through the proxy) → normal ...
 * The engine must open its circuit breaker during the freezes and close it again, make writers
 * wait only once the budget is full, and lose nothing. Each round ends with `settle()`, a check
 * that the bucket holds exactly one object per sealed segment, a read-back through the engine, a
 * close (which uploads the tail), and a rebuild: a fresh root on the same bucket alone must read
 * every record back (proof that every record ended up in the bucket).
 */
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { seededRandom } from '../src/seeded-random.js';
import { openObjectStore, type Tier2StoreConfig } from '../src/tier2/object-store.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';
import { objectIds } from '../support/tier2-suite.js';
import { payloadFor, sameBytes, tempRoot } from '../support/tmp.js';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.js';
import { Tally, describeError, skipped, sleep, type Scenario, type ScenarioContext, type ScenarioReport } from './scenario.js';
import { logCore } from '../src/log.js';

const SEGMENT_BYTES = 64 * 1024;
const BUDGET = 6 * SEGMENT_BYTES;
const RECORD_BYTES = 1000;
const STEP_MS = 90_000;

function engine(root: string, tier2: Tier2StoreConfig): AofManagerOptions {
  return {
    root,
    tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: { maxBytes: BUDGET, frameBytes: 16 * 1024, compressionLevel: 1 },
    tier2,
  };
}

interface Phase {
  kind: 'normal' | 'frozen' | 'slow';
  ms: number;
  delayMs?: number;
}

/** A round's schedule: `cycles` × (normal, frozen, normal, slow), then normal. */
function schedule(cycles: number, rand: () => number): Phase[] {
  const out: Phase[] = [];
  for (let i = 0; i < cycles; i++) {
    out.push({ kind: 'normal', ms: 500 + Math.floor(rand() * 1000) });
    out.push({ kind: 'frozen', ms: 2000 + Math.floor(rand() * 2000) });
    out.push({ kind: 'normal', ms: 500 + Math.floor(rand() * 1000) });
    out.push({ kind: 'slow', ms: 1500 + Math.floor(rand() * 1500), delayMs: 150 + Math.floor(rand() * 150) });
  }
  out.push({ kind: 'normal', ms: 500 });
  return out;
}

async function round(ctx: ScenarioContext, tally: Tally, server: S3TestServer, proxy: LatencyProxy, r: number, cycles: number): Promise<void> {
  const rand = seededRandom(ctx.seed + r * 104729);
  const where = `round ${r}`;
  const base = server.config(`outage-${r}`);
  // The engine goes through the proxy; the checks talk to moto directly. 400 ms of silence fails a
  // request, so a freeze is noticed fast and the breaker opens; slow chunks stay under that.
  const viaProxy: Tier2StoreConfig = { ...base, endpoint: proxy.endpoint, requestTimeoutMs: 400 };
  const direct: Tier2StoreConfig = { ...base, requestTimeoutMs: 5000 };
  const { root, cleanup } = tempRoot('aof2-chaos-outage-');
  const phases = schedule(cycles, rand);
  let total = 0;
  let tier2Blocks = 0;
  try {
    const manager = await tally.bounded(AofManager.open(engine(root, viaProxy)), STEP_MS, `${where}: open`);
    try {
      const log = await manager.openStream('outage');
      let controlling = true;
      const controller = async (): Promise<void> => {
        try {
          for (const phase of phases) {
            if (phase.kind === 'frozen') {
              server.pause();
              tally.add('freezes', 1);
              tally.add('frozenMs', phase.ms);
              tally.injected++;
            } else if (phase.kind === 'slow') {
              proxy.delayMs = phase.delayMs!;
              tally.add('slowWindows', 1);
              tally.add('slowMs', phase.ms);
              tally.injected++;
            }
            await sleep(phase.ms);
            server.resume();
            proxy.delayMs = 0;
          }
        } finally {
          server.resume();
          proxy.delayMs = 0;
          controlling = false;
        }
      };
      const writer = async (): Promise<void> => {
        // About 2 MB/s offered: enough to fill the budget within a freeze.
        while (controlling) {
          for (let i = 0; i < 4; i++) {
            const id = total;
            const bytes = payloadFor(id, RECORD_BYTES);
            let got: number;
            try {
              got = log.appendSync(bytes);
            } catch (err) {
              if (!(err instanceof WouldBlockError)) throw err;
              if (err.kind === 'tier2') tier2Blocks++;
              got = await tally.bounded(log.append(bytes), STEP_MS, `${where}: append ${id}`);
            }
            if (got !== id) throw new Error(`${where}: append returned ${got}, expected ${id}`);
            total++;
          }
          await sleep(2);
        }
      };
      await Promise.all([controller(), writer()]);
      await tally.bounded(manager.settle(), STEP_MS, `${where}: settle after the outages`);
      const st = manager.stats().tier2!;
      tally.add('breakerOpened', st.breakerOpened);
      tally.add('breakerClosed', st.breakerClosed);
      tally.add('uploadRetries', st.uploadRetries);
      tally.add('segmentsUploaded', st.segmentsUploaded);
      tally.add('segmentsEvicted', st.segmentsEvicted);
      tally.add('writerTier2WouldBlocks', tier2Blocks);
      if (st.breakerOpened < 1 || st.breakerClosed < 1) tally.fail(`${where}: the breaker opened ${st.breakerOpened} and closed ${st.breakerClosed} times; expected both`);
      if (st.breakerState !== 0) tally.fail(`${where}: breaker state ${st.breakerState} after settle`);
      if (st.pendingBytes !== 0) tally.fail(`${where}: ${st.pendingBytes} bytes still pending upload after settle`);
      const store = await openObjectStore(direct);
      try {
        const sealed = logCore(log).segments.filter((s) => s.sealed).map((s) => s.baseId);
        const ids = await objectIds(store, 'outage');
        if (ids.join(',') !== sealed.join(',')) tally.fail(`${where}: bucket holds ${ids.length} objects, ${sealed.length} sealed segments (not one object each)`);
      } finally {
        await store.close();
      }
      await readAll(tally, log, total, `${where}: read back`);
    } finally {
      server.resume();
      await tally.bounded(manager.close(), STEP_MS, `${where}: close`);
    }
    // Only the bucket: a fresh root must rebuild the whole stream from it.
    const fresh = tempRoot('aof2-chaos-outage-rebuild-');
    try {
      const rebuilt = await tally.bounded(AofManager.open(engine(fresh.root, direct)), STEP_MS, `${where}: rebuild open`);
      try {
        const log = await rebuilt.openStream('outage');
        if (log.nextId !== total) {
          tally.lost += Math.max(0, total - log.nextId);
          tally.fail(`${where}: the bucket alone rebuilds ${log.nextId} records, ${total} were appended`);
        }
        await readAll(tally, log, Math.min(total, log.nextId), `${where}: read back from the bucket alone`);
      } finally {
        await tally.bounded(rebuilt.close(), STEP_MS, `${where}: rebuild close`);
      }
    } finally {
      fresh.cleanup();
    }
    tally.add('recordsAppended', total);
  } catch (err) {
    tally.fail(`${where}: ${describeError(err)}`);
  } finally {
    server.resume();
    cleanup();
  }
}

/** Reads [0, end) through the engine, byte for byte; what does not come back is counted lost. */
async function readAll(tally: Tally, log: AofLog, end: number, where: string): Promise<void> {
  const reader = log.openReader({ from: 0 });
  try {
    for (let id = 0; id < end; id++) {
      const rec = await tally.bounded(reader.next(), 30_000, `${where}: record ${id}`);
      if (rec === null || rec.id !== id || !sameBytes(rec.payload, payloadFor(id, RECORD_BYTES))) {
        tally.lost += end - id;
        tally.fail(`${where}: record ${id} ${rec === null ? 'missing' : 'differs'}`);
        return;
      }
      tally.verified++;
    }
  } finally {
    reader.close();
  }
}

async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const target = ctx.quick ? '>= 1 freeze and 1 slow window, breaker opened and closed' : '>= 3 freezes and 3 slow windows, breaker opened and closed';
  let server: S3TestServer;
  try {
    server = await startS3Server();
  } catch (err) {
    return skipped('outage', `the S3 test server (moto) did not start: ${describeError(err)}`, target);
  }
  if (!server.controllable) {
    await server.close();
    return skipped('outage', server.skipReason ?? 'external S3 endpoint', target);
  }
  const tally = new Tally('outage');
  const proxy = await startLatencyProxy('127.0.0.1', Number(new URL(server.endpoint).port));
  try {
    tally.figures['motoStartupMs'] = Math.round(server.startupMs);
    const cycles = ctx.quick ? 1 : 3;
    while (Date.now() < ctx.deadline && !(ctx.quick && tally.rounds >= 1)) {
      await round(ctx, tally, server, proxy, tally.rounds, cycles);
      tally.rounds++;
      ctx.log(`outage: round ${tally.rounds}, ${tally.figures['freezes']} freezes, breaker opened ${tally.figures['breakerOpened']}, ${tally.verified} records verified`);
      if (tally.failureCount > 0) break;
    }
    tally.figures['proxyConnections'] = proxy.stats.connections;
    tally.figures['proxyDelayedChunks'] = proxy.stats.delayedChunks;
  } finally {
    await proxy.close();
    await server.close();
  }
  const need = ctx.quick ? 1 : 3;
  const met = ((tally.figures['freezes'] as number) ?? 0) >= need && ((tally.figures['slowWindows'] as number) ?? 0) >= need && ((tally.figures['breakerOpened'] as number) ?? 0) >= 1;
  return tally.report(target, met);
}

export const outage: Scenario = {
  name: 'outage',
  description: 'moto frozen (SIGSTOP) and resumed, and slowed through a latency proxy, during ingest; everything ends up in the bucket',
  share: 0.15,
  run,
};
