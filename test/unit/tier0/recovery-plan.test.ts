/**
 * Recovery's decision table (src/tier0/recovery-plan.ts `planRecovery`), row by row: a stream
 * directory's listing, the facts read from its files and the catalog in; per segment its tier and
 * source, the files removed, the footers written, the manifest records added, or the refusal out,
 * and for sealed files trusted from the catalog, what their first read will refuse.
 * Pure: no file, no process, no sleep. recovery.ts runs this table at every open and aof2-admin
 * prints its verdicts, so a row here is a promise both keep.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, test } from 'node:test';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { ManifestRecordType } from '../../../src/format/manifest.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry, type SegmentStateValue } from '../../../src/format/snapshot.js';
import { planRecovery, type RawFileFacts, type Refusal, type Tier1FileFacts } from '../../../src/tier0/recovery-plan.js';
import type { Tier1Meta } from '../../../src/format/tier1-file.js';

const SEGMENT_BYTES = 64 * 1024;
const TYPE_NAMES = Object.fromEntries(Object.entries(ManifestRecordType).map(([k, v]) => [v, k]));

function entry(baseId: number, state: SegmentStateValue, recordCount: number, flags = 0): CatalogEntry {
  return { baseId, recordCount, dataBytes: recordCount * 10, dataCrc: 7, state, flags, attempts: 0, compressedBytes: 50, frameCount: 1, objectBytes: 0, maxTimeSec: 1 };
}

/** A raw file with a valid footer of `count` records. */
function sealedFile(baseId: number, count: number, dataBytes = count * 10, dataCrc = 9): RawFileFacts {
  return {
    size: 128 + dataBytes,
    header: { ok: true, baseId, durableBytes: 0, createdAt: 4 },
    firstValidFrame: -1,
    footer: { recordCount: count, baseId, dataBytes, dataCrc, minTimestamp: 1, maxTimestamp: 2, sealedAt: 3 },
    scan: null,
  };
}

/** A raw file without a footer: `count` valid frames, then `tail` torn bytes (or damage). */
function unsealedFile(baseId: number, count: number, tail = 0, damaged = false): RawFileFacts {
  const validBytes = count * 10;
  return {
    size: 64 + validBytes + tail,
    header: { ok: true, baseId, durableBytes: 0, createdAt: 4 },
    firstValidFrame: -1,
    footer: null,
    scan: {
      count,
      validBytes,
      minTimestamp: 1,
      maxTimestamp: 2,
      stopReason: tail > 0 ? 'crc' : null,
      tailBytes: tail,
      damage: damaged ? { badOffset: validBytes, nextValidOffset: validBytes + 10, validFramesAfter: 1, droppedRecords: 2, durableBytes: 0 } : null,
      dataBytes: validBytes + tail,
      dataCrc: 5,
    },
  };
}

/** A raw file whose header does not decode; `frame` >= 0 when its data holds a valid frame. */
function headerless(frame: number): RawFileFacts {
  return { size: 10, header: { ok: false, error: AofError.corrupt('bad segment header magic', {}) }, firstValidFrame: frame, footer: null, scan: null };
}

function t1(baseId: number, count: number): Tier1FileFacts {
  const meta = { header: { baseId, recordCount: count, dataBytes: count * 10, dataCrc: 4, createdAt: 1000 }, index: [{}], fileBytes: 300 } as unknown as Tier1Meta;
  return { ok: true, meta };
}

interface Row {
  name: string;
  catalog?: CatalogEntry[];
  raw?: Record<number, RawFileFacts>;
  /** Raw files listed whose facts were not read (the engine: the catalog records them as sealed). */
  unread?: number[];
  /** Tier 1 files present; facts only where the plan may adopt them. */
  tier1?: Record<number, Tier1FileFacts | null>;
  temp?: string[];
  rebuilt?: boolean;
  segmentBytes?: number;
  /** `baseId tier how count [compress] [resume]` per segment. */
  segments?: string[];
  /** `file reason` per removal. */
  removals?: string[];
  /** `TYPE baseId` per record. */
  records?: string[];
  seals?: number;
  nextId?: number;
  firstId?: number;
  /** The refusal (kind) the engine throws, with its code. */
  refuses?: { kind: Refusal['kind']; code: string };
  /** Kinds of `atFirstRead` (sealed files trusted from the catalog that do not agree with it). */
  atFirstRead?: Refusal['kind'][];
}

const up = FLAG_UPLOADED;
const ev = FLAG_TIER1_EVICTED;

const ROWS: Row[] = [
  { name: 'empty directory, empty catalog', segments: [], nextId: 0 },
  { name: 'sealed raw file the catalog records, unread (the engine): trusted from the catalog, compressed', catalog: [entry(0, SegmentState.SEALED, 5)], unread: [0], segments: ['0 raw catalog 5 compress'], records: [], nextId: 5 },
  { name: 'sealed raw file the catalog records, read (aof2-admin) and agreeing: the same plan', catalog: [entry(0, SegmentState.SEALED, 5)], raw: { 0: sealedFile(0, 5, 50, 7) }, segments: ['0 raw catalog 5 compress'], records: [], nextId: 5 },
  { name: 'sealed raw file the catalog lacks, not the last: trusted from its footer, recorded SEALED', raw: { 0: sealedFile(0, 5), 5: sealedFile(5, 2) }, segments: ['0 raw footer 5 compress', '5 raw footer 2 resume'], records: ['SEALED 0'] },
  { name: 'compression given up, unread: stays raw from the catalog, not queued again', catalog: [entry(0, SegmentState.COMPRESSION_FAILED, 5)], unread: [0], segments: ['0 raw catalog 5'] },
  { name: 'recorded as sealed, unread, larger than segmentBytes: refused with a hint', catalog: [entry(0, SegmentState.SEALED, 10)], unread: [0], segmentBytes: 64, refuses: { kind: 'too-large', code: ErrorCode.INVALID_ARGUMENT } },
  {
    name: 'unsealed tail: scanned, torn bytes trimmed, given its footer and continued (not recorded)',
    catalog: [entry(0, SegmentState.SEALED, 5)],
    unread: [0],
    raw: { 5: unsealedFile(5, 3, 7) },
    segments: ['0 raw catalog 5 compress', '5 raw scanned 3 resume'],
    records: [],
    seals: 1,
    nextId: 8,
  },
  { name: 'unsealed tail with no record: removed', raw: { 0: unsealedFile(0, 0, 12) }, segments: [], removals: ['00000000000000000000.seg empty'], seals: 0 },
  { name: 'unsealed file with damage: refused', raw: { 0: unsealedFile(0, 3, 20, true) }, refuses: { kind: 'damaged-data', code: ErrorCode.CORRUPT } },
  {
    name: 'recorded as sealed without a footer: kept from the catalog, never trimmed; its first read refuses',
    catalog: [entry(0, SegmentState.SEALED, 3)],
    raw: { 0: unsealedFile(0, 3) },
    segments: ['0 raw catalog 3 compress'],
    seals: 0,
    atFirstRead: ['sealed-without-footer'],
  },
  {
    name: 'recorded as Tier 1 with neither its .t1 file nor an upload, raw file without a footer: refused, not trimmed',
    catalog: [entry(0, SegmentState.TIER1, 3)],
    raw: { 0: unsealedFile(0, 3) },
    refuses: { kind: 'sealed-without-footer', code: ErrorCode.CORRUPT },
  },
  { name: 'headerless last file with no frame: removed (the segment before it is then the last: continued)', raw: { 0: sealedFile(0, 5), 5: headerless(-1) }, segments: ['0 raw footer 5 resume'], removals: ['00000000000000000005.seg headerless-tail'] },
  { name: 'headerless last file holding a frame: refused', raw: { 0: sealedFile(0, 5), 5: headerless(16) }, refuses: { kind: 'damaged-header', code: ErrorCode.CORRUPT } },
  { name: 'headerless file that is not the last: refused', raw: { 0: headerless(-1), 5: sealedFile(5, 5) }, refuses: { kind: 'unreadable', code: ErrorCode.CORRUPT } },
  { name: 'header names another base id: refused', raw: { 0: { ...sealedFile(0, 5), header: { ok: true, baseId: 9, durableBytes: 0, createdAt: 4 } } }, refuses: { kind: 'wrong-base-id', code: ErrorCode.CORRUPT } },
  { name: 'recorded as sealed, footer with fewer records: kept from the catalog; its first read refuses', catalog: [entry(0, SegmentState.SEALED, 8)], raw: { 0: sealedFile(0, 5) }, segments: ['0 raw catalog 8 compress'], atFirstRead: ['fewer-records'] },
  { name: 'recorded as sealed, footer with more records: the catalog holds; its first read refuses', catalog: [entry(0, SegmentState.SEALED, 4)], raw: { 0: sealedFile(0, 5) }, segments: ['0 raw catalog 4 compress'], records: [], atFirstRead: ['footer-mismatch'] },
  { name: 'recorded as sealed, another data CRC in the footer: its first read refuses', catalog: [entry(0, SegmentState.SEALED, 5)], raw: { 0: sealedFile(0, 5, 50, 8) }, segments: ['0 raw catalog 5 compress'], atFirstRead: ['footer-mismatch'] },
  { name: 'recorded as sealed, header naming another base id: its first read refuses', catalog: [entry(0, SegmentState.SEALED, 5)], raw: { 0: { ...sealedFile(0, 5, 50, 7), header: { ok: true, baseId: 9, durableBytes: 0, createdAt: 4 } } }, segments: ['0 raw catalog 5 compress'], atFirstRead: ['wrong-base-id'] },
  { name: 'recorded as sealed, header damaged: its first read refuses', catalog: [entry(0, SegmentState.SEALED, 5)], raw: { 0: { ...headerless(-1), size: 178 } }, segments: ['0 raw catalog 5 compress'], atFirstRead: ['unreadable'] },
  {
    name: 'recorded as Tier 1 without its .t1 file or an upload, raw file with more records: trusted from its footer, re-recorded',
    catalog: [entry(0, SegmentState.TIER1, 4)],
    raw: { 0: sealedFile(0, 5) },
    segments: ['0 raw footer 5 compress'],
    records: ['SEALED 0'],
  },
  { name: 'footer with fewer records than the catalog recorded (Tier 1 entry, no .t1 file): refused', catalog: [entry(0, SegmentState.TIER1, 8)], raw: { 0: sealedFile(0, 5) }, refuses: { kind: 'fewer-records', code: ErrorCode.CORRUPT } },
  { name: 'segment larger than segmentBytes: refused with a hint', raw: { 0: sealedFile(0, 5, 100) }, segmentBytes: 64, refuses: { kind: 'too-large', code: ErrorCode.INVALID_ARGUMENT } },
  {
    name: 'Tier 1 file the catalog records, raw leftover beside it: removed',
    catalog: [entry(0, SegmentState.TIER1, 5)],
    raw: { 0: sealedFile(0, 5) },
    tier1: { 0: null },
    segments: ['0 tier1 catalog 5'],
    removals: ['00000000000000000000.seg raw-beside-tier1'],
    records: [],
  },
  { name: 'uploaded and evicted, local copy left by a crash: removed, Tier 2', catalog: [entry(0, SegmentState.TIER1, 5, up | ev)], tier1: { 0: null }, segments: ['0 tier2 catalog 5'], removals: ['00000000000000000000.t1 evicted-copy'], records: [] },
  { name: 'uploaded, local copy gone without EVICTED: Tier 2, EVICTED recorded', catalog: [entry(0, SegmentState.TIER1, 5, up)], segments: ['0 tier2 catalog 5'], records: ['EVICTED 0'] },
  {
    name: 'damaged local copy (NEEDS_RECOVERY) with an upload: Tier 2, the copy removed',
    catalog: [entry(0, SegmentState.NEEDS_RECOVERY, 5, up)],
    tier1: { 0: null },
    segments: ['0 tier2 catalog 5'],
    removals: ['00000000000000000000.t1 evicted-copy'],
    records: ['EVICTED 0'],
  },
  { name: 'Tier 1 file not uploaded, no local copy: missing', catalog: [entry(0, SegmentState.TIER1, 5)], segments: ['0 missing missing 5'], records: ['NEEDS_RECOVERY 0'] },
  {
    name: 'unfinished compression (Tier 1 file beside a raw one the catalog has as SEALED): removed, compressed again',
    catalog: [entry(0, SegmentState.SEALED, 5)],
    unread: [0],
    tier1: { 0: null },
    segments: ['0 raw catalog 5 compress'],
    removals: ['00000000000000000000.t1 unfinished-compression'],
  },
  { name: 'Tier 1 file alone the catalog lacks: adopted and recorded', tier1: { 0: t1(0, 5) }, segments: ['0 tier1 adopted 5'], records: ['SEALED 0', 'COMPRESSION_DONE 0'], nextId: 5 },
  { name: 'Tier 1 file alone that does not verify: refused', tier1: { 0: { ok: false, error: AofError.corrupt('bad tier 1 footer', {}) } }, refuses: { kind: 'unreadable', code: ErrorCode.CORRUPT } },
  { name: 'catalog entry with no file: missing, NEEDS_RECOVERY recorded once', catalog: [entry(0, SegmentState.SEALED, 5), entry(5, SegmentState.NEEDS_RECOVERY, 5)], segments: ['0 missing missing 5', '5 missing missing 5'], records: ['NEEDS_RECOVERY 0'] },
  { name: 'gap after a sealed segment: refused', raw: { 0: sealedFile(0, 5), 9: sealedFile(9, 5) }, refuses: { kind: 'gap', code: ErrorCode.CORRUPT } },
  { name: 'overlap after a sealed segment: refused', raw: { 0: sealedFile(0, 5), 3: sealedFile(3, 5) }, refuses: { kind: 'gap', code: ErrorCode.CORRUPT } },
  {
    name: 'break after an unsealed segment: never-acknowledged leftovers removed, their entries DELETED',
    catalog: [entry(9, SegmentState.SEALED, 5)],
    raw: { 0: unsealedFile(0, 4, 3), 9: sealedFile(9, 5) },
    tier1: { 9: null },
    segments: ['0 raw scanned 4 resume'],
    removals: ['00000000000000000009.seg after-unsealed', '00000000000000000009.t1 after-unsealed'],
    records: ['DELETED 9'],
    seals: 1,
    nextId: 4,
  },
  {
    name: 'retention: files below the tombstone removed, first id from it',
    catalog: [entry(0, SegmentState.DELETED, 5), entry(5, SegmentState.SEALED, 5)],
    raw: { 0: sealedFile(0, 5) },
    unread: [5],
    segments: ['5 raw catalog 5 compress'],
    removals: ['00000000000000000000.seg expired'],
    firstId: 5,
    nextId: 10,
  },
  // The stream's last segment goes on where the last session stopped.
  {
    name: "a clean close's tail (a footer the catalog lacks): continued, not recorded SEALED, not compressed",
    catalog: [entry(0, SegmentState.SEALED, 5)],
    unread: [0],
    raw: { 5: sealedFile(5, 3) },
    segments: ['0 raw catalog 5 compress', '5 raw footer 3 resume'],
    records: [],
    seals: 0,
    nextId: 8,
  },
  {
    name: 'a rebuilt stream never continues a segment (it has no local file to continue)',
    rebuilt: true,
    catalog: [entry(0, SegmentState.TIER1, 5, up | ev)],
    segments: ['0 tier2 catalog 5'],
    nextId: 5,
  },
  {
    name: "a crash's tail: scanned, trimmed and given its footer, then continued",
    raw: { 0: unsealedFile(0, 3, 7) },
    segments: ['0 raw scanned 3 resume'],
    records: [],
    seals: 1,
    nextId: 3,
  },
  {
    name: 'two footers the catalog lacks: only the last is continued, the first sealed and recorded',
    raw: { 0: sealedFile(0, 5), 5: sealedFile(5, 3) },
    segments: ['0 raw footer 5 compress', '5 raw footer 3 resume'],
    records: ['SEALED 0'],
  },
  {
    name: 'a last segment the catalog records as sealed: never continued',
    catalog: [entry(0, SegmentState.SEALED, 5)],
    unread: [0],
    segments: ['0 raw catalog 5 compress'],
  },
  {
    name: 'a tail with no room for another record: sealed and recorded',
    segmentBytes: 56,
    raw: { 0: sealedFile(0, 5) },
    segments: ['0 raw footer 5 compress'],
    records: ['SEALED 0'],
  },
  { name: 'temp files removed', temp: ['00000000000000000000.seg.tmp'], removals: ['00000000000000000000.seg.tmp temp'] },
  {
    name: 'rebuilt root without local files: from the first segment Tier 2 lacks, the tail is lost',
    rebuilt: true,
    catalog: [entry(0, SegmentState.TIER1, 5, up | ev), entry(5, SegmentState.SEALED, 5), entry(10, SegmentState.TIER1, 5, up | ev)],
    segments: ['0 tier2 catalog 5'],
    records: ['DELETED 5', 'DELETED 10'],
    nextId: 5,
  },
];

function run(row: Row, collectRefusals = false): ReturnType<typeof planRecovery> {
  const raw = new Map(Object.entries(row.raw ?? {}).map(([k, v]) => [Number(k), v]));
  const rawIds = [...raw.keys(), ...(row.unread ?? [])].sort((a, b) => a - b);
  const tier1Ids = Object.keys(row.tier1 ?? {}).map(Number);
  const tier1 = new Map<number, Tier1FileFacts>();
  for (const [k, v] of Object.entries(row.tier1 ?? {})) if (v !== null) tier1.set(Number(k), v);
  return planRecovery({
    dir: 'streams/s',
    stream: 's',
    segmentBytes: row.segmentBytes ?? SEGMENT_BYTES,
    catalog: new Map((row.catalog ?? []).map((e) => [e.baseId, e])),
    rebuilt: row.rebuilt ?? false,
    listing: { raw: rawIds, tier1: tier1Ids, temp: row.temp ?? [] },
    raw,
    tier1,
    now: 1_700_000_000_000,
    collectRefusals,
  });
}

describe('recovery decision table', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      if (row.refuses !== undefined) {
        assert.throws(
          () => run(row),
          (err: unknown) => err instanceof AofError && err.code === row.refuses!.code,
        );
        // Collecting (aof2-admin): the same refusal, named by kind, and no exception.
        const collected = run(row, true);
        assert.deepEqual(collected.refusals.map((r) => r.kind).slice(0, 1), [row.refuses.kind]);
        return;
      }
      const plan = run(row);
      assert.deepEqual(plan.refusals, []);
      assert.deepEqual(plan.atFirstRead.map((r) => r.kind), row.atFirstRead ?? []);
      for (const r of plan.atFirstRead) assert.equal(r.error.code, ErrorCode.CORRUPT);
      if (row.segments !== undefined) {
        assert.deepEqual(
          plan.segments.map((s) => `${s.baseId} ${s.tier} ${s.how} ${s.count}${s.compress ? ' compress' : ''}${s.resume !== null ? ' resume' : ''}`),
          row.segments,
        );
      }
      assert.deepEqual(plan.removals.map((r) => `${basename(r.path)} ${r.reason}`), row.removals ?? []);
      if (row.records !== undefined) assert.deepEqual(plan.records.map((r) => `${TYPE_NAMES[r.type]} ${r.baseId}`), row.records);
      if (row.seals !== undefined) assert.equal(plan.seals.length, row.seals);
      if (row.nextId !== undefined) assert.equal(plan.nextId, row.nextId);
      if (row.firstId !== undefined) assert.equal(plan.firstId, row.firstId);
    });
  }

  test('collecting refusals reports each one and judges later segments against the file', () => {
    const plan = run(
      {
        name: 'two faults',
        // Tier 1 entries whose .t1 files are gone (no upload): their raw files are read, not trusted.
        catalog: [entry(0, SegmentState.TIER1, 8), entry(20, SegmentState.TIER1, 5)],
        raw: { 0: sealedFile(0, 5), 20: sealedFile(20, 5) },
      },
      true,
    );
    assert.deepEqual(
      plan.refusals.map((r) => [r.kind, r.baseId, r.expected, r.actual]),
      [
        ['fewer-records', 0, 8, 5],
        ['gap', 20, 5, 20],
      ],
    );
  });

  test('a sealed file trusted from the catalog that does not agree: its first read refuses, later segments are judged against the catalog', () => {
    const plan = run(
      {
        name: 'fewer records, then a gap in the catalog itself',
        catalog: [entry(0, SegmentState.SEALED, 8), entry(8, SegmentState.SEALED, 5), entry(20, SegmentState.SEALED, 5)],
        raw: { 0: sealedFile(0, 5) },
        unread: [8, 20],
      },
      true,
    );
    assert.deepEqual(plan.atFirstRead.map((r) => [r.kind, r.baseId, r.expected, r.actual]), [['fewer-records', 0, 8, 5]]);
    assert.match(plan.atFirstRead[0]!.error.message, /recorded as sealed \(ids 0\.\.7, 80 data bytes\) but its footer counts 5 records/);
    assert.deepEqual(plan.refusals.map((r) => [r.kind, r.baseId, r.expected, r.actual]), [['gap', 20, 13, 20]]);
  });

  test('a sealed file trusted from the catalog keeps the catalog\'s figures and is marked for the check at first read', () => {
    const plan = run({ name: 'trusted', catalog: [entry(0, SegmentState.SEALED, 5)], unread: [0] });
    const [seg] = plan.segments;
    assert.deepEqual([seg!.dataCrc, seg!.dataBytes, seg!.maxTimestamp, seg!.footerUnchecked], [7, 50, 1000, true]);
    assert.deepEqual([plan.report.trustedSegments, plan.report.deferredFooters], [1, 1]);
    const read = run({ name: 'read', raw: { 0: sealedFile(0, 5) } });
    assert.deepEqual([read.segments[0]!.footerUnchecked, read.report.deferredFooters], [false, 0]);
  });

  test('a continued tail carries what its writer goes on from: the footer\'s (or the scan\'s) figures and the header\'s creation time', () => {
    const clean = run({ name: 'clean', raw: { 0: sealedFile(0, 5, 50, 9) } });
    const [tail] = clean.segments;
    assert.deepEqual([tail!.count, tail!.dataBytes, tail!.dataCrc, tail!.resume], [5, 50, 9, { createdAt: 4, minTimestamp: 1, maxTimestamp: 2 }]);
    assert.deepEqual([clean.report.trustedSegments, clean.report.resumedSegments, clean.report.scannedSegments], [1, 1, 0]);
    const crashed = run({ name: 'crashed', raw: { 0: unsealedFile(0, 3, 7) } });
    assert.deepEqual([crashed.segments[0]!.dataBytes, crashed.segments[0]!.dataCrc, crashed.report.resumedSegments, crashed.report.scannedSegments], [30, 5, 1, 1]);
    assert.equal(crashed.seals[0]!.validBytes, 30, 'the torn bytes are cut and the footer written before the writer takes the file');
  });

  test('a raw file neither recorded as sealed nor read is a caller bug, not data', () => {
    assert.throws(() => run({ name: 'unread', unread: [0] }), /no facts for raw segment 0/);
  });
});
