/**
 * Recovery of damaged roots, crafted by hand so every case is exact and deterministic: clean
 * reopen (footers trusted), torn tails (footer stripped, cut mid-record, garbage or zero fill
 * appended), CRC damage in the unsealed tail (a torn last record, or damage with valid records
 * after it: AOF_ERR_CORRUPT), headerless tail files, gaps after an unsealed segment
 * (removed) and in the sealed middle (AOF_ERR_CORRUPT), and the root lock against this process, a
 * live child and a killed child. The layouts come from src/format/ (segment header/footer of 64
 * bytes, 16-byte frame headers, frames aligned to 8).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode, type AofLog } from '../../src/index.js';
import { RECORD_HEADER_BYTES, nextFrameOffset, readFramePayloadLength } from '../../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader, encodeHeaderInto, tryDecodeFooter } from '../../src/format/segment.js';
import { LEGACY_LOCK_FILE, readLockHolder } from '../../src/root-lock.js';
import { seededRandom } from '../../src/seeded-random.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { SEGMENT_FILE_SUFFIX, segmentFileName, streamDir as layoutStreamDir } from '../../src/format/root-layout.js';

/** The smallest segments the engine allows: a few hundred records make a dozen files. */
const TIER0 = { arenaBytes: 4 * 4096, segmentBytes: 4096 };
const STREAM = 'events';
const CHILD = fileURLToPath(new URL('../../support/crash-child.js', import.meta.url));

/** Varied sizes: empty, odd, up to ~250 bytes (about 25 records per 4 KiB segment). */
function sizeFor(id: number): number {
  if (id % 11 === 0) return 0;
  return ((id * 53) % 251) | (id & 1);
}

function streamDir(root: string, name = STREAM): string {
  return layoutStreamDir(root, name);
}

/** Segment files of a stream, oldest first (names sort by base id). */
function segmentFiles(root: string, name = STREAM): string[] {
  return readdirSync(streamDir(root, name))
    .filter((n) => n.endsWith(SEGMENT_FILE_SUFFIX))
    .sort()
    .map((n) => join(streamDir(root, name), n));
}

function baseIdOf(path: string): number {
  return Number(path.slice(-24, -4));
}

interface Frame {
  id: number;
  /** File offset of the frame header. */
  offset: number;
  payloadLength: number;
  /** File offset just past the frame (its padding included). */
  end: number;
}

/** Frames of a sealed segment file, walked with the same alignment rule as the engine. */
function framesOf(path: string): Frame[] {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataEnd = bytes.length - SEGMENT_FOOTER_BYTES;
  const frames: Frame[] = [];
  let id = baseIdOf(path);
  for (let off = SEGMENT_HEADER_BYTES; off < dataEnd; id++) {
    const payloadLength = readFramePayloadLength(view, off);
    const end = nextFrameOffset(view, off);
    frames.push({ id, offset: off, payloadLength, end });
    off = end;
  }
  return frames;
}

/**
 * Writes `count` records with a clean close: every segment but the last is sealed and recorded;
 * the last (the open tail, no Tier 2) has a footer the manifest does not record, and its header
 * records all its data as durable.
 */
async function writeRecords(root: string, count: number, name = STREAM): Promise<void> {
  const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, fsync: 'never' });
  const log = await manager.openStream(name);
  const start = log.nextId;
  for (let id = start; id < start + count; id++) assert.equal(await log.append(payloadFor(id, sizeFor(id))), id);
  await manager.close();
}

/**
 * Makes a damaged closed root look like a crashed one: a crash tears only a segment whose SEALED
 * record was never written (the footer is durable before that record), so the catalog must not
 * know it. Dropping the manifest is the simplest such layout: recovery works from the files alone.
 * (With the catalog recording the segment as sealed, the same damage is AOF_ERR_CORRUPT; see
 * test/integration/recovery-sealed-damage.test.ts.)
 */
function forgetCatalog(root: string): void {
  rmSync(join(root, 'manifest'), { recursive: true, force: true });
}

/**
 * What a crash before the writer's last fdatasync leaves in the header: no durable length (a
 * clean close records the whole tail as durable, and cutting records below that is damage, not a
 * torn write). Base id, creation time and segment size are kept.
 */
function forgetDurableLength(path: string): void {
  const bytes = readFileSync(path);
  const header = decodeHeader(bytes);
  encodeHeaderInto(bytes, 0, { segmentBytes: header.segmentBytes, baseId: header.baseId, createdAt: header.createdAt });
  writeFileSync(path, bytes);
}

function stripFooter(path: string): number {
  const size = readFileSync(path).length - SEGMENT_FOOTER_BYTES;
  truncateSync(path, size);
  return size;
}

/** Non-zero bytes that cannot pass for a frame (zero fill is its own case). */
function garbage(seed: number, length: number): Buffer {
  const rand = seededRandom(seed);
  return Buffer.from(Array.from({ length }, () => 1 + Math.floor(rand() * 255)));
}

/** A real segment header for `baseId` whose CRC no longer matches (a torn header write), plus data. */
function headerWithBadCrc(baseId: number): Buffer {
  const bytes = Buffer.alloc(SEGMENT_HEADER_BYTES + 40);
  encodeHeaderInto(bytes, 0, { segmentBytes: TIER0.segmentBytes, baseId, createdAt: Date.now() });
  bytes[30] = bytes[30]! ^ 0x01;
  return bytes;
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0x5a;
  writeFileSync(path, bytes);
}

/** Reads the whole stream, asserting dense ids from 0 and exact bytes; returns the count. */
async function verifyAll(log: AofLog): Promise<number> {
  let expected = 0;
  for await (const rec of log.read({ from: 0 })) {
    assert.equal(rec.id, expected, `gap before id ${rec.id}`);
    assert.ok(sameBytes(rec.payload, payloadFor(rec.id, sizeFor(rec.id))), `record ${rec.id} differs`);
    expected++;
  }
  assert.equal(expected, log.nextId);
  return expected;
}

/**
 * Reopens, checks the stream holds exactly `expectedNext` records and that appends continue
 * there, closes, then reopens once more: what recovery repaired must now have a footer and be
 * trusted (and continued: no Tier 2).
 */
async function expectRecovered(
  root: string,
  expectedNext: number,
  check: (recovery: ReturnType<AofManager['stats']>['recovery']) => void,
): Promise<void> {
  const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, fsync: 'always' });
  try {
    const log = await manager.openStream(STREAM);
    check(manager.stats().recovery);
    assert.equal(log.nextId, expectedNext);
    assert.equal(log.durableId, expectedNext - 1);
    assert.equal(await verifyAll(log), expectedNext);
    assert.equal(await log.append(payloadFor(expectedNext, sizeFor(expectedNext))), expectedNext);
  } finally {
    await manager.close();
  }
  const again = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, fsync: 'always' });
  try {
    const log = await again.openStream(STREAM);
    const recovery = again.stats().recovery;
    assert.equal(recovery.scannedSegments, 0, 'the repaired tail got its footer from recovery, then from the close');
    assert.equal(recovery.removedFiles, 0);
    assert.equal(log.nextId, expectedNext + 1);
    assert.equal(await verifyAll(log), expectedNext + 1);
  } finally {
    await again.close();
  }
}

test('reopen after a clean close trusts every sealed segment from the catalog, opens none of their files and scans nothing', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  await writeRecords(root, 400);
  const files = segmentFiles(root);
  assert.ok(files.length >= 5, `expected several segments, got ${files.length}`);
  await expectRecovered(root, 400, (recovery) => {
    assert.equal(recovery.trustedSegments, files.length);
    assert.ok(recovery.trustedSegments > 0);
    // Flat recovery: every sealed file taken from the manifest catalog, its footer left for the
    // first read; the open tail (no Tier 2) taken from its footer and continued.
    assert.equal(recovery.deferredFooters, files.length - 1);
    assert.equal(recovery.resumedSegments, 1);
    assert.equal(recovery.scannedSegments, 0);
    assert.equal(recovery.scannedBytes, 0);
    assert.equal(recovery.trimmedBytes, 0);
    assert.equal(recovery.removedFiles, 0);
  });
});

test('torn tails are trimmed to the last whole valid record and appends continue', async (t) => {
  interface TornCase {
    name: string;
    /** Damages the last segment; returns [records kept in it, bytes recovery must trim]. */
    damage: (path: string, frames: Frame[]) => [number, number];
  }
  const cases: TornCase[] = [
    {
      name: 'footer missing, data complete',
      damage: (path, frames) => {
        stripFooter(path);
        return [frames.length, 0];
      },
    },
    {
      name: 'cut in the middle of a payload',
      damage: (path, frames) => {
        const victim = frames.findLast((f) => f.payloadLength > 2)!;
        const cut = victim.offset + RECORD_HEADER_BYTES + Math.floor(victim.payloadLength / 2);
        truncateSync(path, cut);
        return [frames.indexOf(victim), cut - victim.offset];
      },
    },
    {
      name: 'cut inside a frame header, then garbage',
      damage: (path, frames) => {
        const victim = frames[frames.length - 3]!;
        truncateSync(path, victim.offset + 5);
        appendFileSync(path, garbage(1, 777));
        return [frames.length - 3, 5 + 777];
      },
    },
    {
      name: 'cut on a frame boundary, then garbage',
      damage: (path, frames) => {
        const keep = frames.length - 2;
        truncateSync(path, frames[keep]!.offset);
        appendFileSync(path, garbage(2, 100));
        return [keep, 100];
      },
    },
    {
      name: 'complete data followed by zero fill (preallocated tail)',
      damage: (path, frames) => {
        stripFooter(path);
        appendFileSync(path, Buffer.alloc(4000));
        return [frames.length, 4000];
      },
    },
    {
      name: 'only a partial first frame left',
      damage: (path, frames) => {
        assert.ok(frames.length > 0);
        truncateSync(path, SEGMENT_HEADER_BYTES + 9);
        return [0, 9];
      },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async (st) => {
      const { root, cleanup } = tempRoot();
      st.after(cleanup);
      await writeRecords(root, 300);
      const files = segmentFiles(root);
      const last = files[files.length - 1]!;
      const [kept, trimmed] = c.damage(last, framesOf(last));
      forgetDurableLength(last);
      forgetCatalog(root);
      const expectedNext = baseIdOf(last) + kept;
      await expectRecovered(root, expectedNext, (recovery) => {
        assert.equal(recovery.trustedSegments, files.length - 1);
        assert.equal(recovery.scannedSegments, 1);
        assert.equal(recovery.trimmedBytes, trimmed);
        // A tail left without any record is removed rather than kept as an empty segment.
        assert.equal(recovery.removedFiles, kept === 0 ? 1 : 0);
      });
    });
  }
});

test("an unsealed tail whose header carries the flush worker's running CRC: recovery CRCs only the bytes past it, and its footer matches the data", async (t) => {
  const { root, cleanup } = tempRoot('aof2-recovery-prefix-crc-');
  t.after(cleanup);
  // fsync 'always': the flush worker rewrites the header after every fdatasync, with the running
  // data CRC and the bytes it covers (docs/formats.md, segment header).
  const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, fsync: 'always' });
  const log = await manager.openStream(STREAM);
  const count = 60;
  for (let id = 0; id < count; id++) assert.equal(await log.append(payloadFor(id, sizeFor(id))), id);
  await manager.close();
  const path = segmentFiles(root).at(-1)!;
  const before = readFileSync(path);
  const prefix = decodeHeader(before).prefix;
  assert.ok(prefix !== undefined && prefix.crcBytes > 0, 'the header records a running CRC');
  assert.equal(prefix.prefixCrc, crc32(before.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + prefix.crcBytes)), 'the CRC of exactly the bytes it names');
  stripFooter(path);
  forgetCatalog(root);
  await expectRecovered(root, count, (recovery) => assert.equal(recovery.scannedSegments, 1));
  const after = readFileSync(path);
  const footer = tryDecodeFooter(after.subarray(after.length - SEGMENT_FOOTER_BYTES))!;
  assert.equal(footer.dataCrc, crc32(after.subarray(SEGMENT_HEADER_BYTES, after.length - SEGMENT_FOOTER_BYTES)), "recovery's footer CRC is the data's");
});

test('a CRC mismatch in the last record of the unsealed tail is a torn write: that record is dropped', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  await writeRecords(root, 300);
  const files = segmentFiles(root);
  const last = files[files.length - 1]!;
  const frames = framesOf(last);
  const index = frames.findLastIndex((f) => f.payloadLength > 0);
  assert.ok(index > 0, 'test setup: no suitable record');
  const dataEnd = stripFooter(last);
  truncateSync(last, frames[index]!.end); // the damaged record is the last thing in the file
  flipByte(last, frames[index]!.offset + RECORD_HEADER_BYTES + Math.floor(frames[index]!.payloadLength / 2));
  forgetDurableLength(last);
  forgetCatalog(root);
  await expectRecovered(root, baseIdOf(last) + index, (recovery) => {
    assert.equal(recovery.scannedSegments, 1);
    assert.equal(recovery.trimmedBytes, Math.min(dataEnd, frames[index]!.end) - frames[index]!.offset);
  });
});

test('a CRC mismatch with valid records after it in the unsealed tail is AOF_ERR_CORRUPT and nothing changes', async (t) => {
  interface FlipCase {
    name: string;
    /** Index (in the last segment) of the damaged record, and the byte to flip in it. */
    pick: (frames: Frame[]) => [number, (f: Frame) => number];
  }
  const payloadByte = (f: Frame): number => f.offset + RECORD_HEADER_BYTES + Math.floor(f.payloadLength / 2);
  const cases: FlipCase[] = [
    { name: 'payload byte of a middle record', pick: (frames) => [frames.findIndex((f, i) => i >= 3 && f.payloadLength > 0), payloadByte] },
    { name: 'timestamp of a middle record', pick: (frames) => [Math.floor(frames.length / 2), (f) => f.offset + 12] },
    { name: 'length field of a middle record', pick: (frames) => [Math.floor(frames.length / 2), (f) => f.offset] },
  ];
  for (const c of cases) {
    await t.test(c.name, async (st) => {
      const { root, cleanup } = tempRoot();
      st.after(cleanup);
      await writeRecords(root, 300);
      const files = segmentFiles(root);
      const last = files[files.length - 1]!;
      const frames = framesOf(last);
      const [index, byteOf] = c.pick(frames);
      assert.ok(index > 0 && index < frames.length - 1, `test setup: no suitable record (${index})`);
      stripFooter(last);
      flipByte(last, byteOf(frames[index]!));
      forgetCatalog(root);
      const before = files.map((f) => readFileSync(f));
      const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, fsync: 'always' });
      try {
        await assert.rejects(manager.openStream(STREAM), (err: unknown) => {
          assert.ok(err instanceof AofError && err.code === ErrorCode.CORRUPT, String(err));
          assert.equal(err.details?.['path'], last);
          assert.equal(err.details?.['offset'], frames[index]!.offset);
          assert.equal(err.details?.['nextValidOffset'], frames[index + 1]!.offset);
          assert.equal(err.details?.['firstLostId'], baseIdOf(last) + index);
          // A damaged length field hides how many records the bad stretch held: no exact count.
          assert.equal(err.details?.['droppedRecords'], c.name.startsWith('length') ? null : frames.length - index);
          return true;
        });
      } finally {
        await manager.close();
      }
      files.forEach((f, i) => assert.deepEqual(readFileSync(f), before[i], `${f} changed`));
    });
  }
});

test('a flipped byte in a sealed segment is reported as AOF_ERR_CORRUPT on read, never returned', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  await writeRecords(root, 300);
  const victim = segmentFiles(root)[1]!;
  const frame = framesOf(victim).find((f) => f.payloadLength > 0)!;
  flipByte(victim, frame.offset + RECORD_HEADER_BYTES);
  const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, fsync: 'always' });
  t.after(() => manager.close());
  const log = await manager.openStream(STREAM);
  // Sealed footers are trusted at open (no scan); the data CRC is checked when the segment loads.
  assert.equal(manager.stats().recovery.scannedSegments, 0);
  assert.equal(log.nextId, 300);
  const before = baseIdOf(victim);
  let read = 0;
  await assert.rejects(
    (async () => {
      for await (const rec of log.read({ from: 0 })) {
        assert.ok(rec.id < before, `record ${rec.id} of the damaged segment was returned`);
        read++;
      }
    })(),
    (err: unknown) => err instanceof AofError && err.code === ErrorCode.CORRUPT,
  );
  assert.equal(read, before, 'every record before the damaged segment reads back');
  // Segments after the damaged one are still readable.
  const after = baseIdOf(segmentFiles(root)[2]!);
  const reader = log.openReader({ from: after });
  const rec = await reader.next();
  reader.close();
  assert.equal(rec?.id, after);
  assert.ok(sameBytes(rec.payload, payloadFor(after, sizeFor(after))));
});

test('a headerless or empty tail file is removed', async (t) => {
  const cases: { name: string; content: Buffer; records: number }[] = [
    { name: 'empty file after sealed segments', content: Buffer.alloc(0), records: 300 },
    { name: 'partial header', content: garbage(3, 30), records: 300 },
    { name: 'full-size header with a bad CRC, then data', content: headerWithBadCrc(300), records: 300 },
    { name: 'empty first file of a new stream', content: Buffer.alloc(0), records: 0 },
  ];
  for (const c of cases) {
    await t.test(c.name, async (st) => {
      const { root, cleanup } = tempRoot();
      st.after(cleanup);
      await writeRecords(root, c.records);
      const tail = join(streamDir(root), segmentFileName(c.records));
      writeFileSync(tail, c.content);
      await expectRecovered(root, c.records, (recovery) => {
        assert.equal(recovery.removedFiles, 1);
        assert.equal(recovery.scannedSegments, 0);
      });
      // The file was removed. The continuing append went into the open tail before it (no Tier 2:
      // the last close left it open), or, in a new stream, into a new file with a valid header.
      if (c.records === 0) assert.equal(framesOf(tail).length, 1);
      else assert.ok(!existsSync(tail) && framesOf(segmentFiles(root).at(-1)!).at(-1)!.id === c.records, 'record 300 is in the continued tail');
    });
  }
});

test('a segment after an unsealed one that does not continue it is removed', async (t) => {
  // Regression: the flush worker creates the next segment's file before it writes the last frames
  // of the previous (sealing) one. A kill -9 in between leaves an unsealed file that ends exactly
  // on a frame boundary and a successor starting at a higher id; recovery used to call that
  // corruption because nothing had been trimmed.
  const cases = [
    { name: 'predecessor ends on a frame boundary (nothing trimmed)', torn: false },
    { name: 'predecessor torn mid-record', torn: true },
  ];
  for (const c of cases) {
    await t.test(c.name, async (st) => {
      const { root, cleanup } = tempRoot();
      st.after(cleanup);
      await writeRecords(root, 300);
      const files = segmentFiles(root);
      const previous = files[files.length - 2]!;
      const successor = files[files.length - 1]!;
      const frames = framesOf(previous);
      const keep = frames.length - 2;
      truncateSync(previous, c.torn ? frames[keep]!.offset + 7 : frames[keep]!.offset);
      forgetCatalog(root);
      await expectRecovered(root, baseIdOf(previous) + keep, (recovery) => {
        assert.equal(recovery.scannedSegments, 1);
        assert.equal(recovery.trimmedBytes, c.torn ? 7 : 0);
        assert.equal(recovery.removedFiles, 1);
      });
      assert.ok(!existsSync(successor), 'the unacknowledged successor is gone');
    });
  }
});

test('a gap between sealed segments is AOF_ERR_CORRUPT and recovery changes nothing', async (t) => {
  // Without the manifest nothing says which segments were sealed: every file is read at open. (With
  // the manifest, a missing segment is kept as MISSING: see the next test; a damaged sealed one is
  // taken from the catalog and refused at its first read: the last case here, and
  // recovery-sealed-damage.test.ts.)
  const forgetManifest = (root: string): void => rmSync(join(root, 'manifest'), { recursive: true, force: true });
  const cases: { name: string; damage: (files: string[], root: string) => void; opens?: true }[] = [
    {
      name: 'a middle segment is missing, and so is the manifest',
      damage: (files, root) => {
        unlinkSync(files[2]!);
        forgetManifest(root);
      },
    },
    {
      name: 'a middle segment is empty, the manifest gone',
      damage: (files, root) => {
        truncateSync(files[2]!, 0);
        forgetManifest(root);
      },
    },
    {
      name: 'a middle segment has a bad header CRC, the manifest gone',
      damage: (files, root) => {
        flipByte(files[2]!, 30);
        forgetManifest(root);
      },
    },
    {
      name: 'a middle segment the manifest records as sealed has a bad header CRC: the stream opens, reads of that segment fail',
      damage: (files) => flipByte(files[2]!, 30),
      opens: true,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async (st) => {
      const { root, cleanup } = tempRoot();
      st.after(cleanup);
      await writeRecords(root, 300);
      await writeRecords(root, 50, 'healthy');
      const files = segmentFiles(root);
      c.damage(files, root);
      const snapshot = files.map((f) => (existsSync(f) ? readFileSync(f) : null));
      const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, fsync: 'always' });
      try {
        if (c.opens === true) {
          const log = await manager.openStream(STREAM);
          assert.equal(log.nextId, 300);
          const reader = log.openReader({ from: baseIdOf(files[2]!) });
          await assert.rejects(reader.next(), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CORRUPT && err.details?.['footerCheck'] === 'header');
          reader.close();
        } else {
          await assert.rejects(manager.openStream(STREAM), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CORRUPT);
        }
        // Nothing was trimmed, sealed or deleted on the way to the error.
        files.forEach((f, i) => assert.deepEqual(existsSync(f) ? readFileSync(f) : null, snapshot[i], `${f} changed`));
        // The damage is confined to its stream: the manager and other streams keep working.
        const healthy = await manager.openStream('healthy');
        assert.equal(healthy.nextId, 50);
        assert.equal(await healthy.append(new Uint8Array([1, 2, 3])), 50);
      } finally {
        await manager.close();
      }
    });
  }
});

test('a segment the manifest knows but whose file is gone is kept as MISSING: ids stay dense, reads fail with AOF_ERR_UNAVAILABLE', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  await writeRecords(root, 300);
  const files = segmentFiles(root);
  const lost = files[2]!;
  const lostBase = baseIdOf(lost);
  const nextBase = baseIdOf(files[3]!);
  unlinkSync(lost);
  const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, fsync: 'always' });
  t.after(() => manager.close());
  const log = await manager.openStream(STREAM);
  assert.equal(manager.stats().recovery.missingSegments, 1);
  assert.equal(log.nextId, 300);
  const reader = log.openReader({ from: lostBase });
  await assert.rejects(reader.next(), (err: unknown) => err instanceof AofError && err.code === ErrorCode.UNAVAILABLE);
  reader.close();
  // Records on both sides of the hole still read back.
  const after = log.openReader({ from: nextBase });
  const rec = await after.next();
  after.close();
  assert.equal(rec?.id, nextBase);
  assert.equal(await log.append(payloadFor(300, 10)), 300);
});

// ---------------------------------------------------------------------------------------------
// Root lock

/** Spawns the crash child in `hold` mode and resolves once it holds the lock. */
function spawnLockHolder(root: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, root, '0', 'hold'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('ready\n')) resolve(child);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`lock holder exited early (${code ?? signal}): ${err}`)));
  });
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const isLocked = (err: unknown): boolean => err instanceof AofError && err.code === ErrorCode.LOCKED;

test('a second manager on the same root in this process is AOF_ERR_LOCKED until the first closes', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const first = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false } });
  try {
    await assert.rejects(AofManager.open({ root, tier0: TIER0, tier1: { enabled: false } }), isLocked);
    // Another spelling of the same directory is the same root.
    await assert.rejects(AofManager.open({ root: join(root, '.', 'streams', '..'), tier0: TIER0, tier1: { enabled: false } }), isLocked);
    // The failed attempts must not have released or broken the first manager's lock.
    assert.equal(readLockHolder(root)?.pid, process.pid);
    const log = await first.openStream(STREAM);
    assert.equal(await log.append(new Uint8Array(5)), 0);
  } finally {
    await first.close();
  }
  assert.equal(readLockHolder(root), null, 'close releases the lock');
  const second = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false } });
  assert.equal((await second.openStream(STREAM)).nextId, 1);
  await second.close();
});

test('a lock held by a live process is AOF_ERR_LOCKED; once that process is kill -9ed it is taken over', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const holder = await spawnLockHolder(root);
  t.after(() => killAndWait(holder));
  await assert.rejects(AofManager.open({ root, tier0: TIER0, tier1: { enabled: false } }), (err: unknown) => {
    assert.ok(isLocked(err), `expected AOF_ERR_LOCKED, got ${String(err)}`);
    assert.equal((err as AofError).details?.['owner'], holder.pid);
    return true;
  });
  await killAndWait(holder);
  // The dead holder's lock entry is still there: it is stale and must be taken over.
  assert.equal(readLockHolder(root)?.pid, holder.pid);
  const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false } });
  try {
    assert.equal(readLockHolder(root)?.pid, process.pid);
    const log = await manager.openStream(STREAM);
    assert.equal(await log.append(new Uint8Array(1)), 0);
  } finally {
    await manager.close();
  }
});

test("a half-written (empty or unparsable) lock file of the previous version is treated as stale", async (t) => {
  for (const content of ['', 'not-a-pid\n']) {
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    writeFileSync(join(root, LEGACY_LOCK_FILE), content);
    const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false } });
    assert.ok(!existsSync(join(root, LEGACY_LOCK_FILE)), 'the stale file is removed');
    assert.equal(readLockHolder(root)?.pid, process.pid);
    await manager.close();
  }
});
