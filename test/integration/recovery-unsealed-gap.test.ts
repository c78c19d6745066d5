/**
 * Regression: a crash while the flush worker lags leaves a segment whose file stops at a frame
 * boundary (no footer, nothing torn) followed by the stream's next segment file. Recovery used to
 * drop a non-contiguous successor only after a *trimmed* tail, so this state (trimmed bytes 0)
 * failed with AOF_ERR_CORRUPT and the stream could not be opened again. Found by interrupting
 * `npm start` with Ctrl-C during ingest.
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { frameLength } from '../../src/format/record.js';
import { SEGMENT_HEADER_BYTES } from '../../src/format/segment.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { manifestDir, SEGMENT_FILE_SUFFIX, streamDir } from '../../src/format/root-layout.js';

const SEGMENT_BYTES = 4096;
const PAYLOAD = 100;
/** Frames of 100-byte payloads that fit one 4 KiB segment. */
const PER_SEGMENT = Math.floor(SEGMENT_BYTES / frameLength(PAYLOAD));

test('an unsealed segment cut at a frame boundary ends the stream; later files are dropped, ids continue', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const options = { root, tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: { enabled: false }, fsync: 'never' as const };
  let manager = await AofManager.open(options);
  let log = await manager.openStream('s');
  const total = 2 * PER_SEGMENT + 5; // three segments: two full ones and a short third
  for (let id = 0; id < total; id++) assert.equal(await log.append(payloadFor(id, PAYLOAD)), id);
  await manager.close();

  const dir = streamDir(root, 's');
  const files = readdirSync(dir).filter((n) => n.endsWith(SEGMENT_FILE_SUFFIX)).sort();
  assert.equal(files.length, 3);
  // The crash state: segment 0 written only up to record `kept` (whole frames, no footer), while
  // segments 1 and 2 already exist on disk.
  const kept = PER_SEGMENT - 7;
  truncateSync(join(dir, files[0]!), SEGMENT_HEADER_BYTES + kept * frameLength(PAYLOAD));
  // A crash leaves segment 0 without its SEALED record (written only after its footer is durable):
  // without the manifest, recovery works from the files alone, as it would for that crash.
  rmSync(manifestDir(root), { recursive: true, force: true });

  manager = await AofManager.open(options);
  log = await manager.openStream('s');
  const recovery = manager.stats().recovery;
  assert.equal(recovery.scannedSegments, 1);
  assert.equal(recovery.trimmedBytes, 0);
  assert.equal(recovery.removedFiles, 2);
  assert.equal(log.nextId, kept);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith(SEGMENT_FILE_SUFFIX)), [files[0]]);

  let expected = 0;
  for await (const rec of log.read({ from: 0 })) {
    assert.ok(sameBytes(rec.payload, payloadFor(expected, PAYLOAD)), `record ${expected}`);
    expected++;
  }
  assert.equal(expected, kept);
  // Dense ids continue from the recovered tail.
  assert.equal(await log.append(payloadFor(kept, PAYLOAD)), kept);
  await log.flush();
  await manager.close();

  manager = await AofManager.open(options);
  log = await manager.openStream('s');
  assert.equal(log.nextId, kept + 1);
  await manager.close();
});
