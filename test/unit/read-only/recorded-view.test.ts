/**
 * What a read-only manager makes of the writer's catalog (src/read-only/recorded-view.ts), without
 * files: the tier each catalog state means, the retention floor, the stop at a gap, and the
 * Segment events that bring a shown segment to what the catalog records now, or null when the
 * transition table cannot get there (the catalog went back).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry, type SegmentStateValue } from '../../../src/format/snapshot.js';
import { eventsToward, recordedStream, recordedTier, uploadedView, type RecordedSegment } from '../../../src/read-only/recorded-view.js';
import { Segment, SegmentEventType as E, SegmentTier } from '../../../src/tier0/segment.js';

function entry(baseId: number, recordCount: number, state: SegmentStateValue, flags = 0): CatalogEntry {
  return { baseId, recordCount, dataBytes: recordCount * 24, dataCrc: 0x1234, state, flags, attempts: 0, compressedBytes: 300, frameCount: 2, objectBytes: 0, maxTimeSec: 7 };
}

function want(baseId: number, count: number, tier: RecordedSegment['tier'], uploaded = false): RecordedSegment {
  const compressed = tier !== SegmentTier.RAW;
  return { baseId, count, dataBytes: count * 24, dataCrc: 0x1234, maxTimestamp: 7000, tier, uploaded, compressedBytes: compressed ? 300 : 0, frameCount: compressed ? 2 : 0, recordedIndex: null };
}

/** A segment seen growing in the writer's file, as the read-only log shows it before the manifest records it. */
function followed(baseId: number, count: number): Segment {
  const seg = new Segment(baseId, `/s/${baseId}.seg`, `/s/${baseId}.t1`, 0, 0, false);
  seg.apply({ type: E.TAIL_EXTENDED, count, dataBytes: count * 24 });
  return seg;
}

/** Applies `events` (which must not be null) and returns the segment. */
function applied(seg: Segment, events: ReturnType<typeof eventsToward>): Segment {
  assert.ok(events !== null, 'a sequence of the transition table exists');
  for (const event of events) seg.apply(event);
  return seg;
}

describe('recordedTier and recordedStream', () => {
  test('each catalog state means one tier', () => {
    assert.equal(recordedTier(entry(0, 10, SegmentState.SEALED)), SegmentTier.RAW);
    assert.equal(recordedTier(entry(0, 10, SegmentState.COMPRESSION_FAILED)), SegmentTier.RAW);
    assert.equal(recordedTier(entry(0, 10, SegmentState.TIER1)), SegmentTier.TIER1);
    assert.equal(recordedTier(entry(0, 10, SegmentState.TIER1, FLAG_UPLOADED)), SegmentTier.TIER1);
    assert.equal(recordedTier(entry(0, 10, SegmentState.TIER1, FLAG_UPLOADED | FLAG_TIER1_EVICTED)), SegmentTier.TIER2);
    assert.equal(recordedTier(entry(0, 10, SegmentState.NEEDS_RECOVERY, FLAG_UPLOADED)), SegmentTier.TIER2);
    assert.equal(recordedTier(entry(0, 10, SegmentState.NEEDS_RECOVERY)), SegmentTier.MISSING);
  });

  test('retention’s tombstone is the first id; segments are contiguous from it; a raw one is never uploaded', () => {
    const view = recordedStream([entry(0, 10, SegmentState.DELETED), entry(10, 5, SegmentState.TIER1, FLAG_UPLOADED), entry(15, 5, SegmentState.SEALED)]);
    assert.equal(view.firstId, 10);
    assert.equal(view.endId, 20);
    assert.equal(view.gapAt, null);
    assert.deepEqual(
      view.segments.map((s) => [s.baseId, s.tier, s.uploaded, s.compressedBytes]),
      [
        [10, SegmentTier.TIER1, true, 300],
        [15, SegmentTier.RAW, false, 0],
      ],
    );
    assert.equal(view.segments[0]!.maxTimestamp, 7000, 'whole seconds become ms');
    assert.deepEqual(recordedStream([]), { firstId: 0, segments: [], endId: 0, gapAt: null });
  });

  test('the view stops before a segment that does not continue the one before', () => {
    const view = recordedStream([entry(0, 10, SegmentState.SEALED), entry(12, 5, SegmentState.SEALED)]);
    assert.equal(view.endId, 10);
    assert.equal(view.gapAt, 12);
    assert.equal(view.segments.length, 1);
  });
});

describe('eventsToward', () => {
  test('a followed segment the manifest now records as sealed, compressed, uploaded, evicted', () => {
    const seg = followed(0, 10);
    applied(seg, eventsToward(seg, want(0, 10, SegmentTier.RAW)));
    assert.deepEqual([seg.sealed, seg.tier, seg.dataCrc, seg.maxTimestamp], [true, SegmentTier.RAW, 0x1234, 7000]);
    assert.deepEqual(eventsToward(seg, want(0, 10, SegmentTier.RAW)), [], 'nothing to do when it is there already');
    applied(seg, eventsToward(seg, want(0, 10, SegmentTier.TIER1)));
    assert.deepEqual([seg.tier, seg.frameIndex, seg.compressedBytes], [SegmentTier.TIER1, null, 300], 'the index is loaded from the file at the first read');
    applied(seg, eventsToward(seg, want(0, 10, SegmentTier.TIER2, true)));
    assert.deepEqual([seg.tier, seg.uploaded], [SegmentTier.TIER2, true]);
    applied(seg, eventsToward(seg, want(0, 10, SegmentTier.TIER1, true)));
    assert.equal(seg.tier, SegmentTier.TIER1, 'recached by the writer');
    applied(seg, eventsToward(seg, want(0, 10, SegmentTier.TIER2, true)));
    assert.equal(seg.tier, SegmentTier.TIER2, 'a damaged local copy dropped by the writer reads as Tier 2');
  });

  test('several steps at once, in the writer’s order', () => {
    const seg = followed(0, 10);
    const events = eventsToward(seg, want(0, 10, SegmentTier.TIER2, true))!;
    assert.deepEqual(
      events.map((e) => e.type),
      [E.SEALING, E.SEALED, E.COMPRESSION_DONE, E.UPLOADED, E.EVICTED],
    );
    applied(seg, events);
    assert.deepEqual([seg.sealed, seg.tier, seg.uploaded], [true, SegmentTier.TIER2, true]);
    const lost = Segment.restored(20, '/s/20.seg', '/s/20.t1', { count: 10, dataBytes: 240, tier: SegmentTier.TIER1, dataCrc: 0x1234, maxTimestamp: 7000, compressedBytes: 300, frameCount: 2, frameIndex: null, uploaded: false });
    applied(lost, eventsToward(lost, want(20, 10, SegmentTier.MISSING)));
    assert.equal(lost.tier, SegmentTier.MISSING);
  });

  test('null where the table cannot get there: the catalog went back, or counts disagree', () => {
    const compressed = applied(followed(0, 10), eventsToward(followed(0, 10), want(0, 10, SegmentTier.TIER1)));
    assert.equal(eventsToward(compressed, want(0, 10, SegmentTier.RAW)), null, 'TIER1 back to RAW');
    assert.equal(eventsToward(followed(0, 10), want(0, 9, SegmentTier.RAW)), null, 'fewer records than shown');
    const sealed = applied(followed(0, 10), eventsToward(followed(0, 10), want(0, 10, SegmentTier.RAW)));
    assert.equal(eventsToward(sealed, want(0, 11, SegmentTier.RAW)), null, 'a sealed segment never grows');
    assert.equal(eventsToward(sealed, want(0, 10, SegmentTier.MISSING)), null, 'a raw file lost: replaced');
  });
});

describe('uploadedView (what a follower shows)', () => {
  const up = FLAG_UPLOADED;
  const evicted = FLAG_UPLOADED | FLAG_TIER1_EVICTED;

  test('the uploaded prefix, every segment as TIER2, and the recorded records past it', () => {
    const view = uploadedView(
      recordedStream([
        entry(0, 10, SegmentState.DELETED),
        entry(10, 10, SegmentState.TIER1, evicted),
        entry(20, 10, SegmentState.TIER1, up), // the writer still has its .t1: the follower reads the object
        entry(30, 10, SegmentState.TIER1), // compressed, not uploaded yet
        entry(40, 10, SegmentState.TIER1, evicted), // uploaded after one that is not: not shown yet
        entry(50, 5, SegmentState.SEALED),
      ]),
    );
    assert.equal(view.stream.firstId, 10);
    assert.deepEqual(
      view.stream.segments.map((s) => [s.baseId, s.tier, s.uploaded]),
      [
        [10, SegmentTier.TIER2, true],
        [20, SegmentTier.TIER2, true],
      ],
    );
    assert.equal(view.stream.endId, 30);
    assert.equal(view.recordsNotUploaded, 25, 'records 30..54 are recorded, not in the bucket');
  });

  test('nothing uploaded: an empty view at the retention floor; uploaded after a crash (NEEDS_RECOVERY) still shows', () => {
    const none = uploadedView(recordedStream([entry(0, 10, SegmentState.SEALED)]));
    assert.deepEqual([none.stream.segments.length, none.stream.endId, none.recordsNotUploaded], [0, 0, 10]);
    const recovered = uploadedView(recordedStream([entry(0, 10, SegmentState.NEEDS_RECOVERY, up)]));
    assert.deepEqual(recovered.stream.segments.map((s) => s.tier), [SegmentTier.TIER2]);
    assert.equal(recovered.recordsNotUploaded, 0);
  });
});
