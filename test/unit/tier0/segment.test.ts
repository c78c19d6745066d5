/**
 * The segment transition table (src/tier0/segment.ts `Segment.apply`), without files, workers or
 * an arena: each event's precondition and effect, refusals that leave the segment unchanged, and
 * agreement with `Catalog.apply` on the persistent part: every order of manifest records the live
 * engine can produce gives the same tier and flags in memory as in the catalog the next open
 * replays.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { ManifestRecordType as T, type ManifestRecord, type ManifestRecordTypeValue } from '../../../src/format/manifest.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../../../src/format/snapshot.js';
import type { FrameIndexEntry } from '../../../src/format/tier1.js';
import { Catalog } from '../../../src/manifest/catalog.js';
import { Segment, SegmentEventType as E, SegmentTier, type SegmentEvent, type SegmentTierValue } from '../../../src/tier0/segment.js';

const INDEX: FrameIndexEntry[] = [];

/** A sealed raw segment, as Tier 1 has it once the footer is durable. */
function sealedSegment(): Segment {
  const seg = new Segment(100, '/s/100.seg', '/s/100.t1', 0, 0, false);
  seg.apply({ type: E.SEALING, count: 10, dataBytes: 800 });
  seg.apply({ type: E.SEALED, dataCrc: 0xabc, maxTimestamp: 5000 });
  return seg;
}

function compressed(): Segment {
  const seg = sealedSegment();
  seg.apply({ type: E.COMPRESSION_DONE, frameIndex: INDEX, compressedBytes: 300, frameCount: 2 });
  return seg;
}

function uploaded(): Segment {
  const seg = compressed();
  seg.apply({ type: E.UPLOADED });
  return seg;
}

/** What a refusal must look like: AOF_ERR_INTERNAL naming the event, and nothing changed. */
function assertRefused(seg: Segment, event: SegmentEvent): void {
  const before = snapshot(seg);
  assert.throws(
    () => seg.apply(event),
    (err: unknown) => err instanceof AofError && err.code === ErrorCode.INTERNAL && err.details?.['event'] === event.type,
    `${event.type} must be refused`,
  );
  assert.deepEqual(snapshot(seg), before, `a refused ${event.type} changes nothing`);
}

function snapshot(seg: Segment): Record<string, unknown> {
  const { tier, sealed, parked, handle, uploaded, expired, slot, dataBytes, dataCrc, compressedBytes, frameIndex, hydration, error, recaching, key } = seg;
  return { tier, sealed, parked, handle, uploaded, expired, slot, ranges: seg.ranges.map((r) => ({ ...r })), boundaries: [...seg.boundaries], dataBytes, dataCrc, compressedBytes, frameIndex, hydration, error, recaching, key };
}

describe('Segment.apply: the lifecycle', () => {
  test('SEALING fixes the count and size of an active raw segment; SEALED adds the footer facts', () => {
    // An active segment's count and size are the log's (LogCore.endIdOf, dataBytesOf) until SEALING.
    const seg = new Segment(0, '/s/0.seg', '/s/0.t1', 0, 0, false);
    assert.deepEqual([seg.tier, seg.sealed, seg.slot, seg.count], [SegmentTier.RAW, false, -1, 0]);
    assertRefused(seg, { type: E.SEALED, dataCrc: 1, maxTimestamp: 1 });
    seg.apply({ type: E.SEALING, count: 3, dataBytes: 96 });
    assert.deepEqual([seg.sealed, seg.count, seg.endId, seg.dataBytes], [true, 3, 3, 96]);
    assertRefused(seg, { type: E.SEALING, count: 5, dataBytes: 200 });
    seg.apply({ type: E.SEALED, dataCrc: 7, maxTimestamp: 1234 });
    assert.deepEqual([seg.dataCrc, seg.maxTimestamp], [7, 1234]);
  });

  test('COMPRESSION_DONE: sealed RAW → TIER1 with its frame index; an active or compressed segment refuses it', () => {
    const done: SegmentEvent = { type: E.COMPRESSION_DONE, frameIndex: INDEX, compressedBytes: 300, frameCount: 2 };
    assertRefused(new Segment(0, '/a', '/b', 0, 0, false), done);
    const seg = sealedSegment();
    seg.apply(done);
    assert.deepEqual([seg.tier, seg.compressedBytes, seg.frameCount, seg.frameIndex], [SegmentTier.TIER1, 300, 2, INDEX]);
    assertRefused(seg, done);
  });

  test('UPLOADED only for a Tier 1 segment not uploaded yet', () => {
    assertRefused(sealedSegment(), { type: E.UPLOADED });
    const seg = compressed();
    seg.apply({ type: E.UPLOADED });
    assert.equal(seg.uploaded, true);
    assertRefused(seg, { type: E.UPLOADED });
  });

  test('EVICTED: an uploaded TIER1 → TIER2 (also when a dropped damaged copy got there first); never before the upload', () => {
    assertRefused(compressed(), { type: E.EVICTED });
    const seg = uploaded();
    seg.apply({ type: E.EVICTED });
    assert.equal(seg.tier, SegmentTier.TIER2);
    seg.apply({ type: E.EVICTED });
    assert.equal(seg.tier, SegmentTier.TIER2);
  });

  test('HYDRATED (recache): TIER2 → TIER1; refused for a segment with a local copy', () => {
    assertRefused(uploaded(), { type: E.HYDRATED });
    const seg = uploaded();
    seg.apply({ type: E.EVICTED });
    seg.apply({ type: E.HYDRATED });
    assert.equal(seg.tier, SegmentTier.TIER1);
  });

  test('NEEDS_RECOVERY: a damaged Tier 1 copy → TIER2 when uploaded, else MISSING with the error', () => {
    const drop = uploaded();
    drop.apply({ type: E.NEEDS_RECOVERY, error: null });
    assert.deepEqual([drop.tier, drop.error], [SegmentTier.TIER2, null]);
    assertRefused(drop, { type: E.NEEDS_RECOVERY, error: null });
    const lost = compressed();
    const damage = AofError.corrupt('bad frame', { path: '/s/100.t1' });
    lost.apply({ type: E.NEEDS_RECOVERY, error: damage });
    assert.deepEqual([lost.tier, lost.error], [SegmentTier.MISSING, damage]);
    assertRefused(sealedSegment(), { type: E.NEEDS_RECOVERY, error: null });
  });

  test('EXPIRED once; later tier events of work already under way still apply', () => {
    const seg = uploaded();
    seg.apply({ type: E.EXPIRED });
    assert.equal(seg.expired, true);
    assertRefused(seg, { type: E.EXPIRED });
    seg.apply({ type: E.EVICTED });
    assert.equal(seg.tier, SegmentTier.TIER2);
  });

  test('KEYED: set once; the same key again is harmless, another one is a bug', () => {
    const seg = compressed();
    seg.apply({ type: E.KEYED, key: 'streams/s/100' });
    seg.apply({ type: E.KEYED, key: 'streams/s/100' });
    assert.equal(seg.key, 'streams/s/100');
    assertRefused(seg, { type: E.KEYED, key: 'streams/t/100' });
  });
});

describe('Segment.apply: residency', () => {
  test('the whole-segment slot (a single window from byte 0, sealed) is released only by its own run; ranges by theirs', () => {
    const seg = new Segment(0, '/s/0.seg', '/s/0.t1', 0, 0, false, 1);
    seg.apply({ type: E.WINDOW_OPENED, slot: 2, start: 0, first: 0 });
    seg.apply({ type: E.SEALING, count: 3, dataBytes: 240 });
    assert.equal(seg.slot, 2);
    assertRefused(seg, { type: E.SLOT_RELEASED, slot: 3 });
    seg.slotReleased(2);
    assert.equal(seg.slot, -1);
    // The run of a failed load was never published: releasing it finds no slot, which is fine.
    seg.slotReleased(5);
    assert.equal(seg.slot, -1);
    // A Tier 1 frame loaded as a range goes with its run.
    const restarted = Segment.restored(0, '/a', '/b', { count: 1, dataBytes: 8, tier: SegmentTier.TIER1, dataCrc: 0, maxTimestamp: 0, compressedBytes: 10, frameCount: 1, frameIndex: INDEX, uploaded: false });
    restarted.apply({ type: E.RANGE_LOADED, slot: 7, start: 0, first: 0, end: 8, endRecord: 1 });
    assert.equal(restarted.rangeFor(0)?.slot, 7);
    assert.deepEqual(restarted.boundaries, [0, 0], 'frames of a compressed segment teach the raw index nothing');
    restarted.slotReleased(7);
    assert.equal(restarted.rangeFor(0), null);
  });

  test('one load at a time, never for a resident segment; INDEX_LOADED never for a raw one', () => {
    const seg = sealedSegment();
    const work = Promise.resolve();
    assertRefused(seg, { type: E.LOAD_SETTLED });
    seg.apply({ type: E.LOAD_STARTED, work });
    assert.equal(seg.hydration, work);
    assertRefused(seg, { type: E.LOAD_STARTED, work });
    seg.apply({ type: E.LOAD_SETTLED });
    assert.equal(seg.hydration, null);
    const whole = new Segment(0, '/s/0.seg', '/s/0.t1', 0, 0, false, 1);
    whole.apply({ type: E.WINDOW_OPENED, slot: 1, start: 0, first: 0 });
    whole.apply({ type: E.SEALING, count: 3, dataBytes: 240 });
    assertRefused(whole, { type: E.LOAD_STARTED, work });
    assertRefused(seg, { type: E.INDEX_LOADED, frameIndex: INDEX });
  });

  test('FAILED and ERROR_CLEARED; RECACHE_STARTED and RECACHE_ENDED alternate', () => {
    const seg = uploaded();
    const err = AofError.io('read', '/x', new Error('EIO'));
    seg.apply({ type: E.FAILED, error: err });
    assert.equal(seg.error, err);
    seg.apply({ type: E.ERROR_CLEARED });
    assert.equal(seg.error, null);
    assertRefused(seg, { type: E.RECACHE_ENDED });
    seg.apply({ type: E.RECACHE_STARTED });
    assert.equal(seg.recaching, true);
    assertRefused(seg, { type: E.RECACHE_STARTED });
    seg.apply({ type: E.RECACHE_ENDED });
    assert.equal(seg.recaching, false);
  });

  test('PARKED: an active segment gives its write window up; UNPARKED once it has a window again', () => {
    const seg = new Segment(0, '/s/0.seg', '/s/0.t1', 5, 0, false, 7);
    assert.deepEqual([seg.parked, seg.handle], [false, 7]);
    assertRefused(seg, { type: E.PARKED, count: 0, dataBytes: 0 }); // no window: nothing to give up
    seg.apply({ type: E.WINDOW_OPENED, slot: 1, start: 0, first: 0 });
    assertRefused(seg, { type: E.UNPARKED });
    seg.apply({ type: E.PARKED, count: 5, dataBytes: 400 });
    assert.equal(seg.parked, true);
    assert.equal(seg.window, null);
    assert.deepEqual(seg.ranges, [{ slot: 1, start: 0, first: 0, end: 400, endRecord: 5 }]);
    assertRefused(seg, { type: E.PARKED, count: 5, dataBytes: 400 });
    // Evicted while parked: the range goes; a new window continues the segment at its end.
    seg.slotReleased(1);
    assert.deepEqual(seg.ranges, []);
    assertRefused(seg, { type: E.UNPARKED }); // no window yet
    seg.apply({ type: E.WINDOW_OPENED, slot: 3, start: 400, first: 5 });
    seg.apply({ type: E.UNPARKED });
    assert.deepEqual([seg.parked, seg.slot, seg.sealed, seg.boundaries], [false, -1, false, [0, 0, 400, 5]], 'boundaries are kept once each, in offset order');
    // A window that is still resident is taken back as it is.
    seg.apply({ type: E.PARKED, count: 6, dataBytes: 480 });
    seg.apply({ type: E.WINDOW_REOPENED, slot: 3 });
    seg.apply({ type: E.UNPARKED });
    assert.equal((seg.window as { endRecord: number } | null)?.endRecord, -1);
    // Never for a sealed segment.
    assertRefused(sealedSegment(), { type: E.PARKED, count: 0, dataBytes: 0 });
  });

  test('windows: rollover closes a range and opens the next; rangeFor finds the one holding a record; SEALING turns a whole-segment window into the slot', () => {
    const seg = new Segment(0, '/s/0.seg', '/s/0.t1', 0, 0, false, 1);
    seg.apply({ type: E.WINDOW_OPENED, slot: 4, start: 0, first: 0 });
    assertRefused(seg, { type: E.WINDOW_OPENED, slot: 5, start: 240, first: 3 }); // one live window at a time
    seg.apply({ type: E.WINDOW_CLOSED, end: 240, endRecord: 3 });
    seg.apply({ type: E.WINDOW_OPENED, slot: 5, start: 240, first: 3 });
    assert.equal(seg.rangeFor(2)?.slot, 4);
    assert.equal(seg.rangeFor(3)?.slot, 5);
    assert.equal(seg.rangeFor(9)?.slot, 5, 'the live window holds every record from its first on');
    seg.slotReleased(4);
    assert.equal(seg.rangeFor(0), null);
    seg.apply({ type: E.SEALING, count: 4, dataBytes: 320 });
    assert.equal(seg.rangeFor(4), null);
    assert.equal(seg.slot, -1, 'two windows: no range holds the whole segment');
    assert.deepEqual(seg.ranges, [{ slot: 5, start: 240, first: 3, end: 320, endRecord: 4 }]);
    const one = new Segment(0, '/s/0.seg', '/s/0.t1', 0, 0, false, 2);
    one.apply({ type: E.WINDOW_OPENED, slot: 8, start: 0, first: 0 });
    one.apply({ type: E.SEALING, count: 2, dataBytes: 160 });
    assert.deepEqual([one.slot, one.ranges.length], [8, 0]);
  });

  test('RANGE_LOADED adds a chunk as a range and its ends as boundaries; BOUNDARIES_LEARNED adds pairs while raw; COMPRESSION_DONE forgets them, ranges stay', () => {
    const seg = Segment.restored(0, '/s/0.seg', '/s/0.t1', { count: 100, dataBytes: 8000, tier: 'raw', dataCrc: 0, maxTimestamp: 0, compressedBytes: 0, frameCount: 0, frameIndex: null, uploaded: false });
    assert.deepEqual(seg.boundaries, [0, 0, 8000, 100], 'a segment found at open knows its start and its end');
    assertRefused(seg, { type: E.RANGE_LOADED, slot: 3, start: 800, first: 10, end: 800, endRecord: 10 }); // holds no record
    seg.apply({ type: E.RANGE_LOADED, slot: 3, start: 800, first: 10, end: 1600, endRecord: 20 });
    seg.apply({ type: E.BOUNDARIES_LEARNED, pairs: [400, 5, 1600, 20] });
    assert.deepEqual(seg.boundaries, [0, 0, 400, 5, 800, 10, 1600, 20, 8000, 100]);
    assert.deepEqual(seg.boundaryIndex.floor(15), [800, 10]);
    assert.deepEqual(seg.boundaryIndex.floor(99), [1600, 20]);
    assert.equal(seg.rangeFor(12)?.slot, 3);
    assert.equal(seg.rangeFor(20), null);
    seg.apply({ type: E.SEALED, dataCrc: 1, maxTimestamp: 1 });
    seg.apply({ type: E.COMPRESSION_DONE, frameIndex: [], compressedBytes: 10, frameCount: 1 });
    assert.deepEqual(seg.boundaries, [0, 0], 'the raw file is gone: frames carry their own index');
    assert.equal(seg.rangeFor(12)?.slot, 3, 'a loaded chunk holds the same bytes as the frames: it stays');
    seg.apply({ type: E.BOUNDARIES_LEARNED, pairs: [400, 5] });
    assert.deepEqual(seg.boundaries, [0, 0], 'a raw load that settles after compression teaches nothing');
  });

  test('SEALING a parked segment seals it where it is (no window needed) and ends the parking', () => {
    const seg = new Segment(0, '/s/0.seg', '/s/0.t1', 5, 0, false, 2);
    seg.apply({ type: E.WINDOW_OPENED, slot: 0, start: 0, first: 0 });
    seg.apply({ type: E.PARKED, count: 5, dataBytes: 400 });
    seg.slotReleased(0);
    seg.apply({ type: E.SEALING, count: 5, dataBytes: 400 });
    assert.deepEqual([seg.sealed, seg.parked, seg.slot, seg.dataBytes], [true, false, -1, 400]);
    assertRefused(seg, { type: E.UNPARKED });
  });

  test('HANDLE_RELEASED: only a sealed segment gives its table entry back, once', () => {
    const seg = new Segment(0, '/s/0.seg', '/s/0.t1', 5, 0, false, 4);
    assertRefused(seg, { type: E.HANDLE_RELEASED }); // active: the flusher still has the file open
    seg.apply({ type: E.SEALING, count: 5, dataBytes: 80 });
    seg.apply({ type: E.HANDLE_RELEASED });
    assert.equal(seg.handle, -1);
    assertRefused(seg, { type: E.HANDLE_RELEASED });
    assertRefused(sealedSegment(), { type: E.HANDLE_RELEASED }); // found at open: no entry
  });

  test('Segment.restored refuses a state the table could never reach', () => {
    const base = { count: 1, dataBytes: 8, dataCrc: 0, maxTimestamp: 0, compressedBytes: 10, frameCount: 1, frameIndex: null };
    assert.throws(() => Segment.restored(0, '/a', '/b', { ...base, tier: SegmentTier.TIER2, uploaded: false }), { code: ErrorCode.INTERNAL });
    assert.throws(() => Segment.restored(0, '/a', '/b', { ...base, tier: SegmentTier.RAW, uploaded: true }), { code: ErrorCode.INTERNAL });
    const recorded = new Uint8Array(16);
    assert.throws(() => Segment.restored(0, '/a', '/b', { ...base, tier: SegmentTier.RAW, uploaded: false, recordedIndex: recorded }), { code: ErrorCode.INTERNAL }, 'a raw segment has no recorded index');
    const seg = Segment.restored(0, '/a', '/b', { ...base, tier: SegmentTier.TIER2, uploaded: true, key: 'k', recordedIndex: recorded });
    assert.deepEqual([seg.sealed, seg.tier, seg.uploaded, seg.key, seg.recordedIndex, seg.frameIndex], [true, SegmentTier.TIER2, true, 'k', recorded, null]);
    assert.equal(Segment.restored(0, '/a', '/b', { ...base, tier: SegmentTier.TIER2, uploaded: true }).recordedIndex, null, 'none recorded');
    // Only a raw file has a footer left to check at first read.
    assert.throws(() => Segment.restored(0, '/a', '/b', { ...base, frameIndex: INDEX, tier: SegmentTier.TIER1, uploaded: false, footerUnchecked: true }), { code: ErrorCode.INTERNAL });
  });

  test('FOOTER_CHECKED: a raw segment trusted from the catalog has its footer checked once; COMPRESSION_DONE needs no check (compression checks the file)', () => {
    const base = { count: 10, dataBytes: 800, tier: SegmentTier.RAW, dataCrc: 5, maxTimestamp: 0, compressedBytes: 0, frameCount: 0, frameIndex: null, uploaded: false };
    assert.equal(Segment.restored(0, '/a', '/b', base).footerUnchecked, false, 'a footer read at open');
    const seg = Segment.restored(0, '/a', '/b', { ...base, footerUnchecked: true });
    assert.equal(seg.footerUnchecked, true);
    seg.apply({ type: E.FOOTER_CHECKED });
    assert.equal(seg.footerUnchecked, false);
    seg.apply({ type: E.FOOTER_CHECKED }); // a load that raced a compression: harmless
    const compressed = Segment.restored(0, '/a', '/b', { ...base, footerUnchecked: true });
    compressed.apply({ type: E.COMPRESSION_DONE, frameIndex: INDEX, compressedBytes: 64, frameCount: 1 });
    assert.equal(compressed.footerUnchecked, false);
  });
});

/**
 * The event a live transition applies for a manifest record, or null for the records that change
 * no in-memory state (COMPRESSION_STARTED, COMPRESSION_FAILED: the segment stays RAW).
 */
function eventFor(record: ManifestRecord): SegmentEvent | null {
  switch (record.type) {
    case T.COMPRESSION_DONE:
      return { type: E.COMPRESSION_DONE, frameIndex: INDEX, compressedBytes: record.fields['compressedBytes'] ?? 0, frameCount: record.fields['frameCount'] ?? 0 };
    case T.UPLOADED:
      return { type: E.UPLOADED };
    case T.EVICTED:
      return { type: E.EVICTED };
    case T.HYDRATED:
      return { type: E.HYDRATED };
    case T.NEEDS_RECOVERY:
      return { type: E.NEEDS_RECOVERY, error: null };
    case T.EXPIRED:
      return { type: E.EXPIRED };
    default:
      return null;
  }
}

/**
 * Where the next open finds a segment with this catalog entry, its files being what the live
 * engine left (src/tier0/recovery-plan.ts): SEALED and COMPRESSION_FAILED stay raw; TIER1 is
 * local unless evicted; a damaged local copy (NEEDS_RECOVERY) is read from Tier 2 when uploaded
 * and MISSING otherwise; EXPIRED leaves a DELETED tombstone.
 */
function tierAtNextOpen(entry: CatalogEntry): { tier: SegmentTierValue; uploaded: boolean; expired: boolean } {
  const uploaded = (entry.flags & FLAG_UPLOADED) !== 0;
  const evicted = (entry.flags & FLAG_TIER1_EVICTED) !== 0;
  switch (entry.state) {
    case SegmentState.SEALED:
    case SegmentState.COMPRESSION_FAILED:
      return { tier: SegmentTier.RAW, uploaded, expired: false };
    case SegmentState.TIER1:
      return { tier: uploaded && evicted ? SegmentTier.TIER2 : SegmentTier.TIER1, uploaded, expired: false };
    case SegmentState.NEEDS_RECOVERY:
      return { tier: uploaded ? SegmentTier.TIER2 : SegmentTier.MISSING, uploaded, expired: false };
    case SegmentState.DELETED:
      return { tier: SegmentTier.RAW, uploaded: false, expired: true };
    default:
      throw new Error(`unexpected catalog state ${entry.state}`);
  }
}

describe('Segment.apply agrees with Catalog.apply', () => {
  const TYPES: ManifestRecordTypeValue[] = [T.COMPRESSION_STARTED, T.COMPRESSION_DONE, T.COMPRESSION_FAILED, T.UPLOADED, T.EVICTED, T.HYDRATED, T.NEEDS_RECOVERY, T.EXPIRED];
  const FIELDS: Partial<Record<ManifestRecordTypeValue, Record<string, number>>> = {
    [T.COMPRESSION_STARTED]: { attempt: 1 },
    [T.COMPRESSION_DONE]: { compressedBytes: 300, frameCount: 2 },
    [T.COMPRESSION_FAILED]: { attempts: 5 },
    [T.UPLOADED]: { objectBytes: 300 },
  };
  // The table is keyed by type at run time; each entry holds exactly that type's fields.
  const record = (type: ManifestRecordTypeValue): ManifestRecord => ({ type, stream: 's', baseId: 100, fields: FIELDS[type] ?? {} }) as ManifestRecord;

  test('every record sequence the table accepts (up to 6 after SEALED) leaves the same tier and flags as the catalog', () => {
    let compared = 0;
    let refused = 0;
    const walk = (prefix: ManifestRecordTypeValue[]): void => {
      // Replayed from scratch for each sequence: both sides stay independent of the walk's order.
      const seg = sealedSegment();
      const catalog = new Catalog();
      catalog.apply({ type: T.SEALED, stream: 's', baseId: 100, fields: { recordCount: 10, dataBytes: 800, dataCrc: 0xabc, maxTimeSec: 0 } });
      let gaveUp = false;
      for (const type of prefix) {
        const event = eventFor(record(type));
        // Compression records without an in-memory event are only written while compressing a
        // raw segment, and COMPRESSION_FAILED is final (tier1.ts): other orders are not live.
        if ((event === null && (seg.tier !== SegmentTier.RAW || gaveUp)) || (type === T.COMPRESSION_DONE && gaveUp)) return;
        if (type === T.COMPRESSION_FAILED) gaveUp = true;
        catalog.apply(record(type));
        if (event === null) continue;
        try {
          seg.apply(event);
        } catch (err) {
          assert.equal((err as AofError).code, ErrorCode.INTERNAL);
          refused++;
          return; // the live engine never produces this order: nothing to compare, nothing longer
        }
      }
      const entry = catalog.get('s', 100);
      assert.ok(entry !== undefined, `the catalog keeps the entry after ${prefix.join(', ')}`);
      assert.deepEqual(
        { tier: seg.expired ? SegmentTier.RAW : seg.tier, uploaded: seg.expired ? false : seg.uploaded, expired: seg.expired },
        tierAtNextOpen(entry),
        `after SEALED, ${prefix.join(', ')}`,
      );
      if (entry.state === SegmentState.TIER1 || entry.state === SegmentState.NEEDS_RECOVERY) assert.equal(seg.compressedBytes, entry.compressedBytes);
      compared++;
      // EXPIRED ends the comparison: the catalog then holds a tombstone whose later records are
      // races with retention, which the catalog applies to the tombstone and the segment ignores.
      if (prefix.length < 6 && prefix.at(-1) !== T.EXPIRED) for (const type of TYPES) walk([...prefix, type]);
    };
    walk([]);
    assert.ok(compared > 100, `compared ${compared} sequences`);
    assert.ok(refused > 100, `refused ${refused} sequences`);
  });

  test('the main lifecycle, step by step', () => {
    const seg = sealedSegment();
    const catalog = new Catalog();
    catalog.apply({ type: T.SEALED, stream: 's', baseId: 100, fields: { recordCount: 10, dataBytes: 800, dataCrc: 0xabc, maxTimeSec: 0 } });
    const steps: [ManifestRecordTypeValue, SegmentTierValue][] = [
      [T.COMPRESSION_STARTED, SegmentTier.RAW],
      [T.COMPRESSION_DONE, SegmentTier.TIER1],
      [T.UPLOADED, SegmentTier.TIER1],
      [T.EVICTED, SegmentTier.TIER2],
      [T.HYDRATED, SegmentTier.TIER1],
      [T.NEEDS_RECOVERY, SegmentTier.TIER2],
      [T.HYDRATED, SegmentTier.TIER1],
    ];
    for (const [type, tier] of steps) {
      catalog.apply(record(type));
      const event = eventFor(record(type));
      if (event !== null) seg.apply(event);
      assert.equal(seg.tier, tier, `after ${type}`);
      assert.equal(tierAtNextOpen(catalog.get('s', 100)!).tier, tier, `catalog after ${type}`);
    }
  });
});

describe('Segment.apply: a segment a read-only manager follows', () => {
  test('TAIL_EXTENDED grows a followed raw segment and adds a boundary at its new end; SEALING ends it', () => {
    const seg = new Segment(50, '/s/50.seg', '/s/50.t1', 0, 0, false);
    seg.apply({ type: E.TAIL_EXTENDED, count: 3, dataBytes: 72 });
    seg.apply({ type: E.TAIL_EXTENDED, count: 3, dataBytes: 72 }); // a look that found nothing new
    seg.apply({ type: E.TAIL_EXTENDED, count: 7, dataBytes: 168 });
    assert.deepEqual([seg.count, seg.dataBytes, seg.endId, seg.sealed], [7, 168, 57, false]);
    assert.deepEqual(seg.boundaryIndex.atOrBelowOffset(100), [72, 3], 'each look is a known boundary');
    assertRefused(seg, { type: E.TAIL_EXTENDED, count: 6, dataBytes: 144 });
    seg.apply({ type: E.SEALING, count: 7, dataBytes: 168 });
    assertRefused(seg, { type: E.TAIL_EXTENDED, count: 8, dataBytes: 192 });
  });

  test('RANGE_EXTENDED moves a loaded range of a raw segment forward, in place, with a boundary at its new end', () => {
    const seg = new Segment(50, '/s/50.seg', '/s/50.t1', 0, 0, false);
    seg.apply({ type: E.TAIL_EXTENDED, count: 3, dataBytes: 72 });
    seg.apply({ type: E.RANGE_LOADED, slot: 4, start: 24, first: 1, end: 72, endRecord: 3 });
    const range = seg.rangeFor(2)!;
    seg.apply({ type: E.TAIL_EXTENDED, count: 7, dataBytes: 168 });
    assert.equal(seg.rangeFor(5), null, 'the new records are not in the range yet');
    seg.apply({ type: E.RANGE_EXTENDED, slot: 4, end: 168, endRecord: 7 });
    assert.equal(seg.rangeFor(5), range, 'the same range (a reader pinning it reads on)');
    assert.deepEqual({ ...range }, { slot: 4, start: 24, first: 1, end: 168, endRecord: 7 });
    assert.deepEqual(seg.boundaryIndex.atOrBelowOffset(168), [168, 7]);
    assertRefused(seg, { type: E.RANGE_EXTENDED, slot: 4, end: 144, endRecord: 6 }); // backwards
    assertRefused(seg, { type: E.RANGE_EXTENDED, slot: 9, end: 192, endRecord: 8 }); // no such range
  });

  test('RANGE_EXTENDED is refused on a live write window and on a compressed segment', () => {
    const active = new Segment(0, '/s/0.seg', '/s/0.t1', 0, 0, false);
    active.apply({ type: E.WINDOW_OPENED, slot: 2, start: 0, first: 0 });
    assertRefused(active, { type: E.RANGE_EXTENDED, slot: 2, end: 48, endRecord: 2 });
    const seg = compressed();
    seg.apply({ type: E.RANGE_LOADED, slot: 3, start: 0, first: 0, end: 400, endRecord: 5 });
    assertRefused(seg, { type: E.RANGE_EXTENDED, slot: 3, end: 800, endRecord: 10 });
  });

  test('TAIL_EXTENDED is refused on a segment this process writes (a table entry) and on a compressed one', () => {
    assertRefused(new Segment(0, '/s/0.seg', '/s/0.t1', 0, 0, false, 3), { type: E.TAIL_EXTENDED, count: 1, dataBytes: 24 });
    assertRefused(compressed(), { type: E.TAIL_EXTENDED, count: 11, dataBytes: 900 });
  });

  test('COMPRESSION_DONE without an index leaves it to the first read (a read-only manager replaying the writer)', () => {
    const seg = sealedSegment();
    seg.apply({ type: E.COMPRESSION_DONE, frameIndex: null, compressedBytes: 300, frameCount: 2 });
    assert.deepEqual([seg.tier, seg.frameIndex, seg.frameCount], [SegmentTier.TIER1, null, 2]);
  });
});
