/**
 * A manifest append the engine goes on without (COMPRESSION_STARTED, COMPRESSION_FAILED) that
 * fails for real is counted in `stats().tier1.manifestAppendFailures`, kept as `lastError` and
 * published on `aof2:manifest.append-failed` (issue 11: they used to be swallowed), and nothing is
 * lost: the segment stays SEALED, every record reads back, and the next open compresses it.
 *
 * The failure is real: the manifest directory is a tmpfs of its own, remounted read-only between
 * the run that sealed the segments (Tier 1 off) and the run that compresses them, so the first
 * append of the second run (COMPRESSION_STARTED, creating a fresh chunk) fails with EROFS. Needs
 * mount (root or CAP_SYS_ADMIN); skipped with the reason otherwise.
 *
 * The same for Tier 2's NEEDS_RECOVERY (an upload that finds the only local copy damaged):
 * counted in `stats().tier2.manifestAppendFailures`, and the next writable open's upload finds the
 * damage again and records it.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { AofError, ErrorCode } from '../../src/errors.js';
import { AOF_EVENTS, type ManifestAppendFailedEvent } from '../../src/events.js';
import { SegmentState } from '../../src/format/snapshot.js';
import { manifestDir, streamDir, TIER1_FILE_SUFFIX } from '../../src/format/root-layout.js';
import { AofManager, type AofManagerOptions } from '../../src/index.js';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { verifyLog, waitFor } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const RECORDS = 24;
const payload = (id: number): Uint8Array => payloadFor(id, 500);

function options(root: string, tier1: boolean, tier2Root: string | null = null): AofManagerOptions {
  return {
    root,
    fsync: 'always',
    tier0: { segmentBytes: 4096, arenaBytes: 8 * 4096 },
    tier1: tier1 ? { frameBytes: 4096, compressionLevel: 1 } : { enabled: false },
    tier2: tier2Root === null ? { kind: 'none' } : { kind: 'fs', root: tier2Root },
  };
}

/** A root whose manifest directory is a tmpfs of its own (remountable read-only); null: test skipped. */
function rootWithOwnManifestFs(t: TestContext): { root: string; dir: string } | null {
  const { root, cleanup } = tempRoot('aof2-mfail-');
  const dir = manifestDir(root);
  mkdirSync(dir);
  let mounted = false;
  t.after(() => {
    if (mounted) execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    cleanup();
  });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
    mounted = true;
  } catch (err) {
    t.skip(`cannot mount a tmpfs here: ${(err as Error).message}`);
    return null;
  }
  return { root, dir };
}

const remount = (dir: string, mode: 'ro' | 'rw'): void => void execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'ignore' });

test('a failed COMPRESSION_STARTED / COMPRESSION_FAILED append is reported, and the next open compresses the segment', { timeout: 120_000 }, async (t) => {
  const fs = rootWithOwnManifestFs(t);
  if (fs === null) return;
  const { root, dir } = fs;

  // Run 1: seal segments with Tier 1 off: they are recorded SEALED and stay raw.
  const first = await AofManager.open(options(root, false));
  try {
    const log = await first.openStream('s');
    for (let id = 0; id < RECORDS; id++) await log.append(payload(id));
  } finally {
    await first.close();
  }

  // Run 2: the manifest is read-only; Tier 1 on queues the SEALED segments for compression.
  remount(dir, 'ro');
  const events: ManifestAppendFailedEvent[] = [];
  const onEvent = (message: unknown): void => void events.push(message as ManifestAppendFailedEvent);
  subscribe(AOF_EVENTS.manifestAppendFailed, onEvent);
  const second = await AofManager.open(options(root, true));
  try {
    // Opening the stream runs its recovery, which queues the SEALED segments for compression.
    const log = await second.openStream('s');
    // Gave up: every attempt's COMPRESSION_STARTED failed, then COMPRESSION_FAILED did too.
    await waitFor(() => events.some((e) => e.record === 'COMPRESSION_FAILED'), 'COMPRESSION_FAILED to fail to append', { timeoutMs: 20_000, progress: () => JSON.stringify({ events, t1: second.stats().tier1 }) });
    const stats = second.stats().tier1;
    assert.ok(stats.manifestAppendFailures >= 2, `manifestAppendFailures ${stats.manifestAppendFailures}`);
    assert.equal(stats.manifestAppendFailures, events.length);
    assert.match(stats.lastError ?? '', /AOF_ERR_IO/);
    assert.ok(events.some((e) => e.record === 'COMPRESSION_STARTED'));
    for (const e of events) {
      assert.equal(e.from, 'tier1');
      assert.equal(e.stream, 's');
      assert.equal(e.error.code, 'AOF_ERR_IO');
    }
    // Nothing lost meanwhile: the raw segments still serve every record.
    await verifyLog(log, payload, RECORDS);
  } finally {
    unsubscribe(AOF_EVENTS.manifestAppendFailed, onEvent);
    await second.close();
  }

  // Nothing was recorded: the segments are still SEALED, not COMPRESSION_FAILED (a final state).
  {
    const { manifest, catalog } = await ManifestLog.open({ dir });
    await manifest.close();
    const states = catalog.entries('s').map((e) => e.state);
    assert.ok(states.length >= 2, `${states.length} segments`);
    assert.deepEqual(states, states.map(() => SegmentState.SEALED));
  }

  // Run 3: writable again; the next open compresses them and records it.
  remount(dir, 'rw');
  const third = await AofManager.open(options(root, true));
  let sealed = 0;
  try {
    const log = await third.openStream('s');
    await third.settle();
    await verifyLog(log, payload, RECORDS);
    assert.equal(third.stats().tier1.manifestAppendFailures, 0);
  } finally {
    await third.close();
  }
  const { manifest, catalog } = await ManifestLog.open({ dir });
  await manifest.close();
  for (const e of catalog.entries('s')) if (e.state === SegmentState.TIER1) sealed++;
  assert.ok(sealed >= 2, `${sealed} segment(s) in Tier 1 after the writable open`);
});

test('a failed NEEDS_RECOVERY append (upload of a damaged local copy) is reported, and the next open records it', { timeout: 120_000 }, async (t) => {
  const fs = rootWithOwnManifestFs(t);
  if (fs === null) return;
  const { root, dir } = fs;
  const store = `${root}-tier2`;
  t.after(() => rmSync(store, { recursive: true, force: true }));

  // Run 1: Tier 1 on, no Tier 2: sealed segments become local .t1 files, never uploaded.
  const first = await AofManager.open(options(root, true));
  try {
    const log = await first.openStream('s');
    for (let id = 0; id < RECORDS; id++) await log.append(payload(id));
    await first.settle();
  } finally {
    await first.close();
  }
  // Damage the first .t1 file (cut its last byte): the upload worker refuses it as AOF_ERR_CORRUPT.
  const segDir = streamDir(root, 's');
  const damaged = readdirSync(segDir).filter((n) => n.endsWith(TIER1_FILE_SUFFIX)).sort()[0];
  assert.ok(damaged !== undefined, 'no .t1 file was written');
  const bytes = readFileSync(join(segDir, damaged));
  writeFileSync(join(segDir, damaged), bytes.subarray(0, bytes.length - 1));

  // Run 2: manifest read-only, Tier 2 on: the uploads start; the damaged one cannot be recorded.
  remount(dir, 'ro');
  const events: ManifestAppendFailedEvent[] = [];
  const onEvent = (message: unknown): void => void events.push(message as ManifestAppendFailedEvent);
  subscribe(AOF_EVENTS.manifestAppendFailed, onEvent);
  const second = await AofManager.open(options(root, true, store));
  try {
    await second.openStream('s');
    await waitFor(() => events.some((e) => e.record === 'NEEDS_RECOVERY'), 'NEEDS_RECOVERY to fail to append', {
      timeoutMs: 30_000,
      progress: () => JSON.stringify({ events, t2: second.stats().tier2 }),
    });
    const stats = second.stats().tier2;
    assert.ok(stats !== null && stats !== undefined);
    assert.equal(stats.manifestAppendFailures, 1);
    assert.equal(stats.uploadFailures, 1);
    const e = events.find((x) => x.record === 'NEEDS_RECOVERY')!;
    assert.equal(e.from, 'tier2');
    assert.equal(e.baseId, 0);
    assert.equal(e.error.code, 'AOF_ERR_IO');
  } finally {
    unsubscribe(AOF_EVENTS.manifestAppendFailed, onEvent);
    await second.close();
  }

  // Run 3: writable again: the upload finds the damage again and records it this time.
  remount(dir, 'rw');
  const third = await AofManager.open(options(root, true, store));
  try {
    const log = await third.openStream('s');
    await waitFor(() => (third.stats().tier2?.uploadFailures ?? 0) >= 1, 'the upload to find the damage again', 30_000);
    await third.settle();
    assert.equal(third.stats().tier2?.manifestAppendFailures, 0);
    // The damaged segment is refused with a code, never returned as data.
    const reader = log.openReader({ from: 0 });
    await assert.rejects(reader.next(), (err: unknown) => err instanceof AofError && err.code !== ErrorCode.WOULD_BLOCK);
    reader.close();
  } finally {
    await third.close();
  }
  const { manifest, catalog } = await ManifestLog.open({ dir });
  await manifest.close();
  assert.equal(catalog.get('s', 0)?.state, SegmentState.NEEDS_RECOVERY);
});
