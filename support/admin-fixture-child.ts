/**
 * Builds the `aof2-admin` fixture root in a process of its own (support/admin-fixture.ts
 * spawns it): five streams, one per residency the CLI must show, written through the real engine.
 *
 * Determinism: `Date.now` is pinned for this process, so record timestamps (stamped on the main
 * thread), and with them data CRCs, maxTimeSec and the zstd output, are the same on every run;
 * payloads are fixed; `fsync: 'always'` and awaited appends make every record durable before the
 * next step; segment boundaries follow from the sizes alone. Header `createdAt` fields written by
 * workers still vary, which is why the CLI never prints them.
 *
 * Streams:
 * - alpha: Tier 1 disabled: sealed raw segments (tier 0), the last one left open by the close
 *   (no Tier 2: `active`, a footer the manifest does not record).
 * - beta: compressed into Tier 1 without Tier 2 (tier 1), the last segment left open by the close
 *   (`active`, raw), then a catalog snapshot.
 * - gamma: Tier 2 with a 1-byte Tier 1 budget: uploaded and evicted (tier 2).
 * - delta: Tier 2 with room: uploaded, still local (tier 1, uploaded).
 * - epsilon: a few records, then the process exits without closing: an unsealed active tail.
 */
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { ManifestLog } from '../src/manifest/manifest-log.js';
import { ADMIN_FIXTURE_CLOCK, fixturePayload } from './admin-fixture.js';
import { manifestDir } from '../src/format/root-layout.js';

Date.now = () => ADMIN_FIXTURE_CLOCK;

const root = process.argv[2];
if (root === undefined) throw new Error('usage: admin-fixture-child <root>');

const base = {
  root,
  fsync: 'always',
  tier0: { segmentBytes: 16 * 1024, arenaBytes: 16 * 16 * 1024 },
} as const satisfies AofManagerOptions;
const tier2 = { kind: 'fs', root: `${root}-tier2` } as const;

async function stage(options: AofManagerOptions, stream: string, records: number, settle: boolean): Promise<void> {
  const manager = await AofManager.open(options);
  const log = await manager.openStream(stream);
  for (let i = 0; i < records; i++) await log.append(fixturePayload(stream, i));
  if (settle) await manager.settle();
  await manager.close();
}

await stage({ ...base, tier1: { enabled: false } }, 'alpha', 100, false);
await stage({ ...base, tier1: { frameBytes: 4096 }, tier2: { kind: 'none' } }, 'beta', 200, true);
{
  const { manifest } = await ManifestLog.open({ dir: manifestDir(root) });
  await manifest.snapshot();
  await manifest.close();
}
await stage({ ...base, tier1: { frameBytes: 4096, maxBytes: 1 }, tier2 }, 'gamma', 150, true);
await stage({ ...base, tier1: { frameBytes: 4096 }, tier2 }, 'delta', 120, true);

// The active tail: durable records in a segment that is never sealed (the process just ends).
const manager = await AofManager.open({ ...base, tier2: { kind: 'none' } });
const log = await manager.openStream('epsilon');
for (let i = 0; i < 7; i++) await log.append(fixturePayload('epsilon', i));
process.stdout.write('built\n');
process.exit(0);
