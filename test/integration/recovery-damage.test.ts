/**
 * Issue 10, section 3: a damaged active segment must not be trimmed silently. A real child
 * (support/damage-child.ts) appends 50 records under fsync 'always' (each acknowledged as
 * durable) and is killed with SIGKILL, leaving its segment unsealed. Then:
 * - one bit flipped in record 10's payload: the open fails with AOF_ERR_CORRUPT, no byte of the
 *   stream changes, `aof2-admin verify` exits 1 naming the segment, `aof2-admin repair` prints what
 *   it would drop, and `repair --accept-loss` drops exactly that; the root opens again;
 * - one bit in the segment header: AOF_ERR_CORRUPT, the file is kept (it used to be removed as
 *   headerless); repair rewrites the header and every record is back;
 * - acknowledged bytes cut away (below the durable length the header records): AOF_ERR_CORRUPT;
 * - a genuine torn tail past the acknowledged records (part of a frame, zeros, garbage): recovered
 *   silently, with trimmedBytes reported.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode } from '../../src/index.js';
import { RECORD_HEADER_BYTES, frameLength } from '../../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, tryDecodeFooter } from '../../src/format/segment.js';
import { seededRandom } from '../../src/seeded-random.js';
import { runAdmin } from '../../support/admin-fixture.js';
import { DAMAGE_OPTIONS, DAMAGE_STREAM, damagePayload } from '../../support/damage-workload.js';
import { buildFrames } from '../../support/frames.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { SEGMENT_FILE_SUFFIX, streamDir } from '../../src/format/root-layout.js';

const CHILD = fileURLToPath(new URL('../../support/damage-child.js', import.meta.url));
const RECORDS = 50;
/** Every record is 200 bytes: frames are 216 bytes, so record i starts at 64 + 216 i. */
const FRAME = frameLength(200);
const READY_TIMEOUT_MS = 30_000;

/** Runs the child until it acknowledged RECORDS records, then SIGKILLs it. Fails after a deadline. */
async function writeAndKill(root: string): Promise<void> {
  const child = spawn(process.execPath, [CHILD, root, String(RECORDS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child not ready after ${READY_TIMEOUT_MS} ms: ${stdout} ${stderr}`)), READY_TIMEOUT_MS);
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        stdout += s;
        if (stdout.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`child exited with ${code} before ready: ${stderr}`));
      });
    });
    assert.match(stdout, new RegExp(`^acked ${RECORDS - 1}$`, 'm'));
  } finally {
    child.kill('SIGKILL');
    await closed;
  }
}

function segmentFile(root: string): string {
  const dir = streamDir(root, DAMAGE_STREAM);
  const files = readdirSync(dir).filter((n) => n.endsWith(SEGMENT_FILE_SUFFIX));
  assert.deepEqual(files, ['00000000000000000000.seg'], 'one segment');
  return join(dir, files[0]!);
}

function flipBit(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0x04;
  writeFileSync(path, bytes);
}

/** Every file under the stream directory, by name. */
function snapshotStream(root: string): Map<string, Buffer> {
  const dir = streamDir(root, DAMAGE_STREAM);
  return new Map(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n))]));
}

async function openFailsCorrupt(root: string): Promise<AofError> {
  const manager = await AofManager.open({ root, ...DAMAGE_OPTIONS });
  try {
    let caught: unknown = null;
    await manager.openStream(DAMAGE_STREAM).catch((err: unknown) => (caught = err));
    assert.ok(caught instanceof AofError && caught.code === ErrorCode.CORRUPT, `expected AOF_ERR_CORRUPT, got ${String(caught)}`);
    return caught;
  } finally {
    await manager.close();
  }
}

/** Opens, checks nextId and every record's bytes, and returns the recovery figures. */
async function openAndRead(root: string, expectedNext: number): Promise<ReturnType<AofManager['stats']>['recovery']> {
  const manager = await AofManager.open({ root, ...DAMAGE_OPTIONS });
  try {
    const log = await manager.openStream(DAMAGE_STREAM);
    assert.equal(log.nextId, expectedNext);
    let id = 0;
    for await (const rec of log.read({ from: 0 })) {
      assert.equal(rec.id, id);
      assert.ok(sameBytes(rec.payload, damagePayload(id)), `record ${id} differs`);
      id++;
    }
    assert.equal(id, expectedNext);
    return manager.stats().recovery;
  } finally {
    await manager.close();
  }
}

test('one bit flipped in a payload of the unsealed segment after kill -9: AOF_ERR_CORRUPT, nothing changed; repair --accept-loss drops exactly what it printed', async (t) => {
  const { root, cleanup } = tempRoot('aof2-damage-');
  t.after(cleanup);
  await writeAndKill(root);
  const seg = segmentFile(root);
  assert.equal(readFileSync(seg).length, SEGMENT_HEADER_BYTES + RECORDS * FRAME, 'unsealed: all 50 frames, no footer');
  const record10 = SEGMENT_HEADER_BYTES + 10 * FRAME;
  flipBit(seg, record10 + RECORD_HEADER_BYTES + 77);
  const before = snapshotStream(root);

  const err = await openFailsCorrupt(root);
  assert.equal(err.details?.['path'], seg);
  assert.equal(err.details?.['offset'], record10);
  assert.equal(err.details?.['nextValidOffset'], record10 + FRAME);
  assert.equal(err.details?.['firstLostId'], 10);
  assert.equal(err.details?.['droppedRecords'], 40);
  assert.match(err.message, /aof2-admin repair --accept-loss/);
  assert.deepEqual(snapshotStream(root), before, 'the failed open changed no file');

  const rel = `streams/${DAMAGE_STREAM}/00000000000000000000.seg`;
  const verify = await runAdmin(['verify', root]);
  assert.equal(verify.code, 1, verify.stdout + verify.stderr);
  assert.doesNotMatch(verify.stdout, /OK: no corruption found/);
  assert.ok(verify.stdout.includes(`${rel} @ ${record10} `), verify.stdout);
  assert.match(verify.stdout, /unsealed segment is damaged/);

  const dump = await runAdmin(['dump', root]);
  assert.equal(dump.code, 1, 'dump reports the damage too');
  assert.match(dump.stderr, /unsealed segment is damaged/);

  const dry = await runAdmin(['repair', root]);
  assert.equal(dry.code, 1, dry.stdout + dry.stderr);
  const dropped = `drops ids 10..49 (40 records), file bytes ${record10}..${SEGMENT_HEADER_BYTES + RECORDS * FRAME} (${40 * FRAME} bytes)`;
  assert.ok(dry.stdout.includes(rel), dry.stdout);
  assert.ok(dry.stdout.includes('keeps ids 0..9 (10 records)'), dry.stdout);
  assert.ok(dry.stdout.includes(dropped), dry.stdout);
  assert.match(dry.stdout, /dry run: nothing changed/);
  assert.deepEqual(snapshotStream(root), before, 'the dry run changed no file');

  // Refused while an engine holds the root.
  const holder = await AofManager.open({ root, ...DAMAGE_OPTIONS });
  try {
    const locked = await runAdmin(['repair', root, '--accept-loss']);
    assert.equal(locked.code, 3, locked.stdout + locked.stderr);
  } finally {
    await holder.close();
  }
  assert.deepEqual(snapshotStream(root), before, 'the refused repair changed no file');

  const repaired = await runAdmin(['repair', root, '--accept-loss', '--json']);
  assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
  const plan = JSON.parse(repaired.stdout) as { applied: boolean; repairs: { firstDroppedId: number; droppedRecords: number; droppedBytes: number; keepBytes: number }[] };
  assert.equal(plan.applied, true);
  assert.deepEqual(
    plan.repairs.map((r) => [r.firstDroppedId, r.droppedRecords, r.droppedBytes, r.keepBytes]),
    [[10, 40, 40 * FRAME, record10]],
  );
  assert.equal(readFileSync(seg).length, record10, 'cut exactly at the damaged record');
  const recovery = await openAndRead(root, 10);
  assert.equal(recovery.trimmedBytes, 0, 'the repaired prefix is clean');
  assert.equal((await runAdmin(['verify', root])).code, 0, 'verify is clean after the repair');
  assert.equal((await runAdmin(['repair', root])).code, 0, 'nothing left to repair');
});

test('one bit flipped in the unsealed segment header after kill -9: AOF_ERR_CORRUPT, the file is kept; repair restores every record', async (t) => {
  const { root, cleanup } = tempRoot('aof2-damage-');
  t.after(cleanup);
  await writeAndKill(root);
  const seg = segmentFile(root);
  flipBit(seg, 20); // base id field: the header CRC no longer matches
  const before = snapshotStream(root);
  const err = await openFailsCorrupt(root);
  assert.match(err.message, /damaged header/);
  assert.deepEqual(snapshotStream(root), before, 'the file was not removed or changed');
  const verify = await runAdmin(['verify', root]);
  assert.equal(verify.code, 1);

  const dry = await runAdmin(['repair', root]);
  assert.equal(dry.code, 1, dry.stdout);
  assert.match(dry.stdout, /rewrites the header from the file name \(base id 0\)/);
  assert.match(dry.stdout, /drops nothing/);
  assert.equal((await runAdmin(['repair', root, '--accept-loss'])).code, 0);
  await openAndRead(root, RECORDS);
});

test('acknowledged bytes cut from the unsealed segment (below the durable length its header records): AOF_ERR_CORRUPT', async (t) => {
  const { root, cleanup } = tempRoot('aof2-damage-');
  t.after(cleanup);
  await writeAndKill(root);
  const seg = segmentFile(root);
  truncateSync(seg, SEGMENT_HEADER_BYTES + 45 * FRAME + 100); // mid-record 45: no valid frame follows
  const before = snapshotStream(root);
  const err = await openFailsCorrupt(root);
  assert.match(err.message, /below the \d+ data bytes the writer recorded as durable/);
  assert.deepEqual(snapshotStream(root), before);
  assert.equal((await runAdmin(['verify', root])).code, 1);
});

test('a genuine torn tail after the acknowledged records still recovers silently, with trimmedBytes reported', async (t) => {
  const rand = seededRandom(10);
  // Frame 50 as the writer would have written it: the crash tore it.
  const next = buildFrames([{ payload: damagePayload(RECORDS), timestamp: Date.now() }]);
  const cases: { name: string; tail: Buffer }[] = [
    { name: 'part of the next frame', tail: Buffer.from(next.subarray(0, 123)) },
    { name: 'a whole header and part of its payload, then zeros', tail: Buffer.concat([Buffer.from(next.subarray(0, 40)), Buffer.alloc(3000)]) },
    { name: 'zeros', tail: Buffer.alloc(4096) },
    { name: 'garbage with no valid frame in it', tail: Buffer.from(Array.from({ length: 5000 }, () => Math.floor(rand() * 256))) },
  ];
  for (const c of cases) {
    await t.test(c.name, async (st) => {
      const { root, cleanup } = tempRoot('aof2-damage-');
      st.after(cleanup);
      await writeAndKill(root);
      const seg = segmentFile(root);
      appendFileSync(seg, c.tail);
      const recovery = await openAndRead(root, RECORDS);
      assert.equal(recovery.scannedSegments, 1);
      assert.equal(recovery.trimmedBytes, c.tail.length);
      // Sealed by recovery at the last acknowledged record.
      const bytes = readFileSync(seg);
      assert.equal(bytes.length, SEGMENT_HEADER_BYTES + RECORDS * FRAME + SEGMENT_FOOTER_BYTES);
      assert.equal(tryDecodeFooter(bytes, bytes.length - SEGMENT_FOOTER_BYTES)?.recordCount, RECORDS);
    });
  }
});
