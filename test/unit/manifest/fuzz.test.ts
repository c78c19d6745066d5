/**
 * Property tests of the manifest and snapshot decoders, and of replay, against random damage.
 * What must hold for ANY bytes:
 * - decodeManifestRecord never throws, always moves forward (a scan built on it terminates), and
 *   every record it returns has a matching CRC (checked by an independent computation) and
 *   re-encodes to the same bytes: a damaged record is never handed to the catalog;
 * - decodeChunkHeader / decodeSnapshot return a CRC-valid result or throw AofError
 *   (AOF_ERR_CORRUPT, or AOF_ERR_INCOMPATIBLE for a newer version), nothing else;
 * - ManifestLog.open on a damaged directory resolves or rejects with an AofError, and damage past
 *   the committed length never changes the catalog.
 * Seeded and bounded by run count, so a failure reproduces exactly.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { AofError, ErrorCode } from '../../../src/errors.js';
import {
  CHUNK_HEADER_BYTES,
  FIELDS,
  ManifestRecordType,
  decodeChunkHeader,
  decodeManifestRecord,
  encodeChunkHeaderInto,
  encodeManifestRecordInto,
  manifestRecordLength,
  type ManifestRecord,
  type ManifestRecordTypeValue,
} from '../../../src/format/manifest.js';
import { SegmentState, decodeSnapshot, encodeSnapshot, type CatalogEntry, type SegmentStateValue } from '../../../src/format/snapshot.js';
import { ManifestLog } from '../../../src/manifest/manifest-log.js';
import { tempRoot } from '../../../support/tmp.js';
import { chunkFileName } from '../../../src/format/root-layout.js';

const SEED = 0x3a11f;
const RUNS = 3000;

const typeArb = fc.constantFrom(...(Object.values(ManifestRecordType) as ManifestRecordTypeValue[]));
const nameArb = fc.constantFrom('s', 'orders', 'payments.eu', 'a-b_c.d', 'x'.repeat(40));
const baseIdArb = fc.oneof(fc.nat({ max: 100 }).map((n) => n * 4096), fc.maxSafeNat());
/** FRAME_INDEX: a frame count and exactly its 16 bytes per frame (what the encoder accepts). */
const frameIndexRecordArb: fc.Arbitrary<ManifestRecord> = fc
  .record({ stream: nameArb, baseId: baseIdArb, frames: fc.nat({ max: 6 }).chain((n) => fc.uint8Array({ minLength: 16 * n, maxLength: 16 * n })) })
  .map(({ stream, baseId, frames }) => ({ type: ManifestRecordType.FRAME_INDEX, stream, baseId, fields: { frameCount: frames.length / 16 }, frames }));
const recordArb: fc.Arbitrary<ManifestRecord> = typeArb.chain((type) =>
  type === ManifestRecordType.FRAME_INDEX ? frameIndexRecordArb : fc.record({
    type: fc.constant(type),
    stream: nameArb,
    baseId: baseIdArb,
    fields: fc.tuple(...FIELDS[type].map(() => fc.nat({ max: 0xffff_ffff }))).map((values) => {
      const out: Record<string, number> = {};
      FIELDS[type].forEach((name, i) => (out[name] = values[i]!));
      return out;
    }),
  // fc.record builds null-prototype objects; decoded records are plain. The fields come from
  // FIELDS[type], so the record is of that type (the cast states it for the union).
  }).map((r) => ({ ...r }) as ManifestRecord),
);

interface ChunkSpec {
  records: ManifestRecord[];
  committed: number;
  tail: ManifestRecord[];
  cut: number;
}

const chunkSpecArb: fc.Arbitrary<ChunkSpec> = fc.record({
  records: fc.array(recordArb, { maxLength: 16 }),
  committed: fc.nat(),
  tail: fc.array(recordArb, { maxLength: 3 }),
  cut: fc.nat({ max: 40 }),
});

function encodeAll(records: readonly ManifestRecord[]): Uint8Array {
  let total = 0;
  for (const r of records) total += manifestRecordLength(r);
  const out = new Uint8Array(total);
  let off = 0;
  for (const r of records) off = encodeManifestRecordInto(out, off, r);
  return out;
}

/** A chunk image: header committing the first `committed % (n+1)` records, the rest plus a tail, cut short. */
function makeChunk(spec: ChunkSpec, seq = 0): { image: Uint8Array; committedRecords: ManifestRecord[]; committedBytes: number } {
  const n = spec.committed % (spec.records.length + 1);
  const committedRecords = spec.records.slice(0, n);
  const committedBody = encodeAll(committedRecords);
  const rest = encodeAll([...spec.records.slice(n), ...spec.tail]);
  const restKept = rest.subarray(0, Math.max(0, rest.length - spec.cut));
  const image = new Uint8Array(CHUNK_HEADER_BYTES + committedBody.length + restKept.length);
  image.set(committedBody, CHUNK_HEADER_BYTES);
  image.set(restKept, CHUNK_HEADER_BYTES + committedBody.length);
  encodeChunkHeaderInto(image, 0, { committedBytes: committedBody.length, chunkSeq: seq, recordCount: n, chunkCrc: crc32(committedBody), createdAt: 1_700_000_000_000 });
  return { image, committedRecords, committedBytes: committedBody.length };
}

type Mutation = { op: 'flip'; at: number; bit: number } | { op: 'u32'; at: number; value: number } | { op: 'truncate'; at: number } | { op: 'extend'; bytes: Uint8Array } | { op: 'recrc'; at: number };

const pos = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const nastyU32 = fc.oneof(fc.constantFrom(0, 1, 9, 10, 11, 12, 0x7fff_fffc, 0x8000_0000, 0xffff_fff0, 0xffff_fff4, 0xffff_ffff), fc.nat({ max: 0xffff_ffff }));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('u32' as const), at: pos, value: nastyU32 }),
  fc.record({ op: fc.constant('truncate' as const), at: pos }),
  fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 48 }) }),
  fc.record({ op: fc.constant('recrc' as const), at: pos }),
);

function mutate(image: Uint8Array, m: Mutation): Uint8Array {
  const at = (f: number): number => Math.floor(f * image.length);
  switch (m.op) {
    case 'flip': {
      if (image.length === 0) return image;
      const out = image.slice();
      out[at(m.at)]! ^= 1 << m.bit;
      return out;
    }
    case 'u32': {
      const where = at(m.at) & ~3;
      if (where + 4 > image.length) return image;
      const out = image.slice();
      new DataView(out.buffer).setUint32(where, m.value, true);
      return out;
    }
    case 'truncate':
      return image.slice(0, at(m.at));
    case 'extend': {
      const out = new Uint8Array(image.length + m.bytes.length);
      out.set(image);
      out.set(m.bytes, image.length);
      return out;
    }
    case 'recrc': {
      // Make the record at an 8-aligned offset check out over whatever range its (maybe damaged)
      // length claims, clamped: the adversarial case for a decoder that trusts lengths.
      const where = at(m.at) & ~7;
      if (where + 12 > image.length) return image;
      const out = image.slice();
      const v = new DataView(out.buffer);
      const body = v.getUint32(where, true);
      v.setUint32(where + 8, crc32(out.subarray(where + 12, Math.min(where + 12 + body, out.length)), crc32(out.subarray(where + 4, where + 8))), true);
      return out;
    }
  }
}

/** Independent check of a decoded record: CRC over the prefix's type/version and the body, and canonical bytes. */
function checkRecord(image: Uint8Array, off: number, next: number, record: ManifestRecord): void {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const body = v.getUint32(off, true);
  const expected = crc32(Buffer.concat([image.subarray(off + 4, off + 8), image.subarray(off + 12, off + 12 + body)]));
  assert.equal(v.getUint32(off + 8, true), expected, `record at ${off}: CRC`);
  assert.ok(next > off && next <= image.length && (next - off) % 8 === 0);
  const again = new Uint8Array(manifestRecordLength(record));
  encodeManifestRecordInto(again, 0, record);
  assert.equal(again.length, next - off);
  assert.deepEqual(image.subarray(off, off + 12 + body), again.subarray(0, 12 + body), 'a decoded record re-encodes to its bytes');
}

/** Walks every 8-aligned offset and the record chain; all invariants. */
function checkRecordDecoder(image: Uint8Array): void {
  for (let off = 0; off <= image.length + 8; off += 8) {
    const r = decodeManifestRecord(image, off, image.length);
    assert.ok(r.next > off || (r.next === image.length && !r.ok), `no progress at ${off}`);
    if (r.ok) checkRecord(image, off, r.next, r.record);
  }
  let steps = 0;
  for (let off = CHUNK_HEADER_BYTES; off < image.length; steps++) {
    const r = decodeManifestRecord(image, off, image.length);
    if (!r.ok && r.next <= off) assert.fail(`scan stalled at ${off}`);
    off = r.next;
  }
  assert.ok(steps <= image.length);
}

function checkHeader(image: Uint8Array): void {
  try {
    decodeChunkHeader(image);
    assert.equal(new DataView(image.buffer, image.byteOffset).getUint32(60, true), crc32(image.subarray(0, 60)));
  } catch (err) {
    if (!(err instanceof AofError) || (err.code !== ErrorCode.CORRUPT && err.code !== ErrorCode.INCOMPATIBLE)) throw err;
  }
}

describe('manifest decoders under random input', () => {
  test('undamaged chunks decode exactly', () => {
    fc.assert(
      fc.property(chunkSpecArb, (spec) => {
        const { image, committedRecords, committedBytes } = makeChunk(spec);
        const h = decodeChunkHeader(image);
        assert.equal(h.committedBytes, committedBytes);
        assert.equal(h.recordCount, committedRecords.length);
        let off = CHUNK_HEADER_BYTES;
        for (const want of committedRecords) {
          const r = decodeManifestRecord(image, off, CHUNK_HEADER_BYTES + committedBytes);
          assert.ok(r.ok);
          assert.deepEqual(r.record, want);
          off = r.next;
        }
        assert.equal(off, CHUNK_HEADER_BYTES + committedBytes);
      }),
      { seed: SEED, numRuns: RUNS / 6 },
    );
  });

  test('damaged chunks: records never throw, always progress, never return a bad CRC; headers throw only AofError', () => {
    fc.assert(
      fc.property(chunkSpecArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (spec, mutations) => {
        let image = makeChunk(spec).image;
        for (const m of mutations) image = mutate(image, m);
        checkRecordDecoder(image);
        checkHeader(image);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('arbitrary bytes: same invariants', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        checkRecordDecoder(bytes);
        checkHeader(bytes);
      }),
      { seed: SEED, numRuns: RUNS / 3 },
    );
  });
});

const plainEntryArb: fc.Arbitrary<Omit<CatalogEntry, 'baseId'>> = fc.record({
  recordCount: fc.nat({ max: 0xffff_ffff }),
  dataBytes: fc.nat({ max: 0xffff_ffff }),
  dataCrc: fc.nat({ max: 0xffff_ffff }),
  state: fc.constantFrom(...(Object.values(SegmentState) as SegmentStateValue[])),
  flags: fc.nat({ max: 3 }),
  attempts: fc.nat({ max: 0xffff }),
  compressedBytes: fc.nat({ max: 0xffff_ffff }),
  frameCount: fc.nat({ max: 0xffff_ffff }),
  objectBytes: fc.nat({ max: 0xffff_ffff }),
  maxTimeSec: fc.nat({ max: 0xffff_ffff }),
});
/** Entries with and without a recorded frame index (16 bytes per frame: version 2 when any has one). */
const entryArb: fc.Arbitrary<Omit<CatalogEntry, 'baseId'>> = fc.tuple(plainEntryArb, fc.boolean()).chain(([e, indexed]) =>
  indexed ? fc.uint8Array({ minLength: 16 * (e.frameCount % 5), maxLength: 16 * (e.frameCount % 5) }).map((frameIndex) => ({ ...e, frameCount: e.frameCount % 5, frameIndex })) : fc.constant(e),
);
const snapshotStreamsArb = fc.dictionary(
  fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
  fc.array(entryArb, { maxLength: 5 }).map((entries) => entries.map((e, i) => ({ baseId: i * 4096, ...e }))),
  { maxKeys: 5 },
);

function snapshotOf(streams: Record<string, CatalogEntry[]>): Uint8Array {
  return encodeSnapshot(new Map(Object.entries(streams)), { watermarkChunk: 3, watermarkOffset: 128, snapshotSeq: 2, createdAt: 1_700_000_000_000 });
}

describe('snapshot decoder under random input', () => {
  test('undamaged snapshots round-trip', () => {
    fc.assert(
      fc.property(snapshotStreamsArb, (streams) => {
        const snap = decodeSnapshot(snapshotOf(streams));
        assert.deepEqual(Object.fromEntries(snap.streams), Object.fromEntries(Object.entries(streams).sort(([a], [b]) => (a < b ? -1 : 1))));
      }),
      { seed: SEED, numRuns: RUNS / 6 },
    );
  });

  test('damaged or arbitrary snapshots: a checked, canonical result or an AofError', () => {
    const check = (image: Uint8Array): void => {
      try {
        const snap = decodeSnapshot(image);
        const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
        assert.equal(v.getUint32(60, true), crc32(image.subarray(0, 60)));
        assert.equal(v.getUint32(36, true), crc32(image.subarray(64)));
        // Accepted bytes are canonical: re-encoding what was decoded gives them back.
        const again = encodeSnapshot(snap.streams, {
          watermarkChunk: snap.header.watermarkChunk,
          watermarkOffset: snap.header.watermarkOffset,
          snapshotSeq: snap.header.snapshotSeq,
          createdAt: snap.header.createdAt,
        });
        assert.equal(again.length, image.length);
      } catch (err) {
        if (!(err instanceof AofError) || (err.code !== ErrorCode.CORRUPT && err.code !== ErrorCode.INCOMPATIBLE)) throw err;
      }
    };
    fc.assert(
      fc.property(snapshotStreamsArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.boolean(), (streams, mutations, fixCrcs) => {
        let image = snapshotOf(streams);
        for (const m of mutations) image = mutate(image, m);
        if (fixCrcs && image.length >= 64) {
          // Structural damage behind valid CRCs: the checks after the CRC must hold on their own.
          const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
          v.setUint32(36, crc32(image.subarray(64)), true);
          v.setUint32(60, crc32(image.subarray(0, 60)), true);
        }
        check(image);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => check(bytes)), { seed: SEED, numRuns: RUNS / 6 });
  });
});

describe('replay under random damage', () => {
  test('open resolves or rejects with an AofError; damage past the committed length never changes the catalog', async (t) => {
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(chunkSpecArb, chunkSpecArb, fc.array(mutationArb, { maxLength: 3 }), fc.boolean(), async (a, b, mutations, tailOnly) => {
        const dir = join(root, String(round++));
        mkdirSync(dir);
        const first = makeChunk(a, 0);
        const second = makeChunk(b, 1);
        writeFileSync(join(dir, chunkFileName(0)), first.image);
        // Reference: the intact second chunk without its uncommitted tail.
        let image = second.image;
        if (tailOnly) {
          const committedEnd = CHUNK_HEADER_BYTES + second.committedBytes;
          let tail = image.subarray(committedEnd);
          for (const m of mutations) tail = mutate(tail, m);
          const out = new Uint8Array(committedEnd + tail.length);
          out.set(image.subarray(0, committedEnd));
          out.set(tail, committedEnd);
          image = out;
        } else {
          for (const m of mutations) image = mutate(image, m);
        }
        writeFileSync(join(dir, chunkFileName(1)), image);
        try {
          const { manifest, catalog, report } = await ManifestLog.open({ dir });
          await manifest.close();
          if (tailOnly) {
            const reference = [...first.committedRecords, ...second.committedRecords].filter((r) => r.type !== ManifestRecordType.SNAPSHOT);
            assert.equal(report.corruptionEvents, 0);
            assert.equal(report.recordsReplayed, first.committedRecords.length + second.committedRecords.length);
            assert.ok(catalog.transitionCount + catalog.orphanCount === reference.length);
            // Reopening after the repair finds nothing left to trim.
            const again = await ManifestLog.open({ dir });
            await again.manifest.close();
            assert.equal(again.report.journalLagBytes, 0);
            assert.deepEqual(again.catalog.toSnapshotStreams(), catalog.toSnapshotStreams());
          }
        } catch (err) {
          if (!(err instanceof AofError)) throw err;
          assert.ok(!tailOnly || err.code === ErrorCode.INCOMPATIBLE, `tail damage gave ${err.code}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});
