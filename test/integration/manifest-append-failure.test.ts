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
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AOF_EVENTS, type ManifestAppendFailedEvent } from '../../src/events.js';
import { SegmentState } from '../../src/format/snapshot.js';
import { AofManager, type AofManagerOptions } from '../../src/index.js';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { verifyLog, waitFor } from '../helpers/engine.js';
import { payloadFor, tempRoot } from '../helpers/tmp.js';

const RECORDS = 24;
const payload = (id: number): Uint8Array => payloadFor(id, 500);

function options(root: string, tier1: boolean): AofManagerOptions {
  return {
    root,
    fsync: 'always',
    tier0: { segmentBytes: 4096, arenaBytes: 8 * 4096 },
    tier1: tier1 ? { frameBytes: 4096, compressionLevel: 1 } : { enabled: false },
    tier2: { kind: 'none' },
  };
}

test('a failed COMPRESSION_STARTED / COMPRESSION_FAILED append is reported, and the next open compresses the segment', { timeout: 120_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-mfail-');
  const dir = join(root, 'manifest');
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
    return;
  }

  // Run 1: seal segments with Tier 1 off: they are recorded SEALED and stay raw.
  const first = await AofManager.open(options(root, false));
  try {
    const log = await first.openStream('s');
    for (let id = 0; id < RECORDS; id++) await log.append(payload(id));
  } finally {
    await first.close();
  }

  // Run 2: the manifest is read-only; Tier 1 on queues the SEALED segments for compression.
  execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'ignore' });
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
  execFileSync('mount', ['-o', 'remount,rw', dir], { stdio: 'ignore' });
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
