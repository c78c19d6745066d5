/** Catalog transition rules, one record type at a time, plus orphans, ordering and snapshot round trips. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManifestRecordType as T, type ManifestFields, type ManifestRecord, type ManifestRecordOf, type ManifestRecordTypeValue } from '../../../src/format/manifest.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, decodeSnapshot, encodeSnapshot } from '../../../src/format/snapshot.js';
import { Catalog } from '../../../src/manifest/catalog.js';

/**
 * A record of `type` with its fields (checked per type when `type` is one literal); a type without
 * fields, or a union of types in a loop, takes none.
 */
const rec = <K extends ManifestRecordTypeValue>(type: K, stream: string, baseId: number, fields?: ManifestFields<K>): ManifestRecord =>
  ({ type, stream, baseId, fields: fields ?? {} }) as ManifestRecordOf<K> as ManifestRecord;
const sealed = (stream: string, baseId: number): ManifestRecord => rec(T.SEALED, stream, baseId, { recordCount: 10, dataBytes: 800, dataCrc: 0xabc, maxTimeSec: 0 });

describe('Catalog.apply', () => {
  test('SEALED creates an entry with every tier field zeroed', () => {
    const c = new Catalog();
    assert.equal(c.apply(sealed('s', 100)), true);
    assert.deepEqual(c.get('s', 100), {
      baseId: 100,
      recordCount: 10,
      dataBytes: 800,
      dataCrc: 0xabc,
      state: SegmentState.SEALED,
      flags: 0,
      attempts: 0,
      compressedBytes: 0,
      frameCount: 0,
      objectBytes: 0,
      maxTimeSec: 0,
    });
    assert.equal(c.transitionCount, 1);
    assert.equal(c.segmentCount, 1);
  });

  test('the full lifecycle: compression, upload, eviction, hydration, recovery, deletion', () => {
    const c = new Catalog();
    c.apply(sealed('s', 0));
    c.apply(rec(T.COMPRESSION_STARTED, 's', 0, { attempt: 1 }));
    assert.equal(c.get('s', 0)!.state, SegmentState.SEALED, 'COMPRESSION_STARTED changes nothing');
    c.apply(rec(T.COMPRESSION_DONE, 's', 0, { compressedBytes: 300, frameCount: 2 }));
    assert.deepEqual([c.get('s', 0)!.state, c.get('s', 0)!.compressedBytes, c.get('s', 0)!.frameCount], [SegmentState.TIER1, 300, 2]);
    c.apply(rec(T.UPLOADED, 's', 0, { objectBytes: 364 }));
    assert.deepEqual([c.get('s', 0)!.flags, c.get('s', 0)!.objectBytes], [FLAG_UPLOADED, 364]);
    c.apply(rec(T.EVICTED, 's', 0));
    assert.equal(c.get('s', 0)!.flags, FLAG_UPLOADED | FLAG_TIER1_EVICTED);
    c.apply(rec(T.EVICTED, 's', 0));
    assert.equal(c.get('s', 0)!.flags, FLAG_UPLOADED | FLAG_TIER1_EVICTED, 'EVICTED is idempotent');
    c.apply(rec(T.HYDRATED, 's', 0));
    assert.equal(c.get('s', 0)!.flags, FLAG_UPLOADED);
    c.apply(rec(T.NEEDS_RECOVERY, 's', 0));
    assert.equal(c.get('s', 0)!.state, SegmentState.NEEDS_RECOVERY);
    assert.equal(c.get('s', 0)!.flags, FLAG_UPLOADED, 'NEEDS_RECOVERY keeps the flags');
    c.apply(rec(T.DELETED, 's', 0));
    assert.equal(c.get('s', 0), undefined);
    assert.deepEqual(c.streams(), [], 'a stream with no entries left disappears');
    assert.equal(c.segmentCount, 0);
    assert.equal(c.transitionCount, 9);
  });

  test('FRAME_INDEX keeps the recorded index; a new COMPRESSION_DONE, a re-seal or expiry drops it; it survives a snapshot', () => {
    const c = new Catalog();
    const frames = Uint8Array.from({ length: 32 }, (_, i) => i);
    const index = (baseId: number): ManifestRecord => ({ type: T.FRAME_INDEX, stream: 's', baseId, fields: { frameCount: 2 }, frames });
    c.apply(sealed('s', 0));
    c.apply(rec(T.COMPRESSION_DONE, 's', 0, { compressedBytes: 300, frameCount: 2 }));
    c.apply(rec(T.UPLOADED, 's', 0, { objectBytes: 300 }));
    assert.equal(c.apply(index(0)), true);
    assert.deepEqual(c.get('s', 0)!.frameIndex, frames);
    const copied = Catalog.fromSnapshot(decodeSnapshot(encodeSnapshot(c.toSnapshotStreams(), { watermarkChunk: 0, watermarkOffset: 0, snapshotSeq: 1, createdAt: 0 })).streams);
    assert.deepEqual(copied.get('s', 0), c.get('s', 0), 'through a (version 2) snapshot');
    c.apply(rec(T.COMPRESSION_DONE, 's', 0, { compressedBytes: 310, frameCount: 2 }));
    assert.equal('frameIndex' in c.get('s', 0)!, false, 'a new Tier 1 file: the old index no longer describes it');
    c.apply(index(0));
    c.apply(sealed('s', 0));
    assert.equal('frameIndex' in c.get('s', 0)!, false, 're-sealed: everything starts over');
    c.apply(rec(T.COMPRESSION_DONE, 's', 0, { compressedBytes: 300, frameCount: 2 }));
    c.apply(index(0));
    c.apply(rec(T.EXPIRED, 's', 0));
    assert.equal('frameIndex' in c.get('s', 0)!, false, 'the retention tombstone keeps no index');
    assert.equal(c.apply(index(4096)), false, 'about a segment the catalog does not hold: an orphan');
    assert.equal(c.orphanCount, 1);
  });

  test('COMPRESSION_FAILED records the attempts; a later SEALED overwrites everything', () => {
    const c = new Catalog();
    c.apply(sealed('s', 0));
    c.apply(rec(T.COMPRESSION_FAILED, 's', 0, { attempts: 5 }));
    assert.deepEqual([c.get('s', 0)!.state, c.get('s', 0)!.attempts], [SegmentState.COMPRESSION_FAILED, 5]);
    c.apply(rec(T.UPLOADED, 's', 0, { objectBytes: 1 }));
    c.apply(rec(T.SEALED, 's', 0, { recordCount: 3, dataBytes: 72, dataCrc: 9, maxTimeSec: 0 }));
    assert.deepEqual(c.get('s', 0), {
      baseId: 0,
      recordCount: 3,
      dataBytes: 72,
      dataCrc: 9,
      state: SegmentState.SEALED,
      flags: 0,
      attempts: 0,
      compressedBytes: 0,
      frameCount: 0,
      objectBytes: 0,
      maxTimeSec: 0,
    });
    assert.equal(c.segmentCount, 1, 'overwriting does not count a second segment');
  });

  test('a transition for a segment the catalog does not hold is an orphan: counted, not applied', () => {
    const c = new Catalog();
    c.apply(sealed('s', 0));
    for (const type of [T.COMPRESSION_STARTED, T.COMPRESSION_DONE, T.COMPRESSION_FAILED, T.EVICTED, T.HYDRATED, T.UPLOADED, T.DELETED, T.NEEDS_RECOVERY] as const) {
      assert.equal(c.apply(rec(type, 's', 1)), false, `type ${type} on an unknown baseId`);
      assert.equal(c.apply(rec(type, 'other', 0)), false, `type ${type} on an unknown stream`);
    }
    assert.equal(c.orphanCount, 16);
    assert.equal(c.transitionCount, 1);
    assert.deepEqual(c.streams(), ['s']);
  });

  test('SNAPSHOT markers change nothing and are not transitions', () => {
    const c = new Catalog();
    assert.equal(c.apply(rec(T.SNAPSHOT, '', 0, { snapshotSeq: 4 })), false);
    assert.equal(c.transitionCount, 0);
    assert.equal(c.orphanCount, 0);
  });
});

describe('Catalog accessors', () => {
  test('entries() are sorted by baseId, streams() by name, and both hand out copies', () => {
    const c = new Catalog();
    for (const base of [5000, 0, 10_000, 2500]) c.apply(sealed('b', base));
    c.apply(sealed('a', 7));
    assert.deepEqual(c.entries('b').map((e) => e.baseId), [0, 2500, 5000, 10_000]);
    assert.deepEqual(c.streams(), ['a', 'b']);
    assert.deepEqual(c.entries('nope'), []);
    const copy = c.entries('a')[0]!;
    copy.state = SegmentState.DELETED;
    c.get('a', 7)!.flags = 99;
    assert.equal(c.get('a', 7)!.state, SegmentState.SEALED);
    assert.equal(c.get('a', 7)!.flags, 0);
  });

  test('toSnapshotStreams → encodeSnapshot → decodeSnapshot → fromSnapshot gives an equal catalog', () => {
    const c = new Catalog();
    for (let i = 0; i < 50; i++) {
      const stream = `s${i % 4}`;
      c.apply(sealed(stream, i * 100));
      if (i % 3 === 0) c.apply(rec(T.COMPRESSION_DONE, stream, i * 100, { compressedBytes: i, frameCount: 1 }));
      if (i % 5 === 0) c.apply(rec(T.UPLOADED, stream, i * 100, { objectBytes: i * 2 }));
      if (i % 7 === 0) c.apply(rec(T.EVICTED, stream, i * 100));
      if (i % 11 === 0) c.apply(rec(T.DELETED, stream, i * 100));
    }
    const streams = c.toSnapshotStreams();
    const bytes = encodeSnapshot(streams, { watermarkChunk: 3, watermarkOffset: 64, snapshotSeq: 9, createdAt: 1 });
    const back = Catalog.fromSnapshot(decodeSnapshot(bytes).streams);
    assert.deepEqual(back.toSnapshotStreams(), streams);
    assert.equal(back.segmentCount, c.segmentCount);
    assert.equal(back.transitionCount, 0, 'a catalog built from a snapshot has replayed nothing yet');
    // The rebuilt catalog keeps applying transitions normally.
    back.apply(rec(T.DELETED, 's1', 100));
    assert.equal(back.get('s1', 100), undefined);
  });
});
