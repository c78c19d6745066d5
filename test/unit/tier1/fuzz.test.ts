/**
 * Property tests of the Tier 1 decoders. What must hold for ANY bytes:
 * - decodeTier1Header/Footer and decodeTier1Image return a value or throw AofError
 *   AOF_ERR_CORRUPT / AOF_ERR_INCOMPATIBLE, nothing else (no RangeError, no hang);
 * - damage to a real file (the golden fixture) is either detected or harmless: the metadata decodes
 *   to exactly the original, and every frame decodes to exactly the original raw bytes or throws
 *   AOF_ERR_CORRUPT. Never wrong data;
 * - an index rewritten with valid CRCs (the adversarial case) is accepted only if it still tiles
 *   the segment exactly, checked here by an independent walk;
 * - encode/decode round trips for every valid header, footer and index.
 *
 * Seeded and bounded by run count, so a failure reproduces exactly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { loadZstd } from '../../../src/codec/zstd.js';
import { AofError, ErrorCode } from '../../../src/errors.js';
import {
  TIER1_FOOTER_BYTES,
  TIER1_HEADER_BYTES,
  TIER1_INDEX_ENTRY_BYTES,
  decodeFrameIndex,
  decodeTier1Footer,
  decodeTier1Header,
  encodeFrameIndex,
  encodeTier1FooterInto,
  encodeTier1HeaderInto,
  type FrameIndexEntry,
  type Tier1Footer,
  type Tier1Header,
} from '../../../src/format/tier1.js';
import { decodeFrame, decodeTier1Image, type Tier1Meta } from '../../../src/format/tier1-file.js';
import { buildFrames } from '../../../support/frames.js';
import { TIER1_GOLDEN } from '../../../support/golden-tier1-content.js';
import { FIXTURES_DIR } from '../../../support/paths.js';
import { sameBytes } from '../../../support/tmp.js';

const SEED = 0x71e41;
const RUNS = 3000;

const GOLDEN = new Uint8Array(readFileSync(join(FIXTURES_DIR, TIER1_GOLDEN.file)));
const GOLDEN_META: Tier1Meta = decodeTier1Image(GOLDEN);
const GOLDEN_DATA = buildFrames(TIER1_GOLDEN.records);

function codedOnly(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AofError && (err.code === ErrorCode.CORRUPT || err.code === ErrorCode.INCOMPATIBLE)) return err;
    throw err;
  }
}

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array };

/** A uniform position (fraction of the length): unbiased, or nearly every mutation hits the header. */
const pos = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);
const nastyU32 = fc.oneof(fc.constantFrom(0, 1, 8, 16, 64, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff), fc.nat({ max: 0xffff_ffff }));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('u32' as const), at: pos, value: nastyU32 }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: pos }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
);

function applyMutation(image: Uint8Array, m: Mutation): Uint8Array {
  const at = (f: number): number => Math.floor(f * image.length);
  switch (m.op) {
    case 'flip': {
      const out = image.slice();
      out[at(m.at)] = out[at(m.at)]! ^ (1 << m.bit);
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
  }
}

/** Independent check that an accepted index tiles records, raw bytes and the compressed area. */
function assertTiles(meta: Tier1Meta): void {
  let rec = 0;
  let raw = 0;
  let file = TIER1_HEADER_BYTES;
  for (const e of meta.index) {
    assert.ok(e.recordCount >= 1 && e.compressedBytes >= 1 && e.rawBytes % 8 === 0 && e.rawBytes >= 16 * e.recordCount);
    assert.equal(e.firstRecord, rec);
    assert.equal(e.rawOffset, raw);
    assert.equal(e.fileOffset, file);
    rec += e.recordCount;
    raw += e.rawBytes;
    file += e.compressedBytes;
  }
  assert.equal(rec, meta.header.recordCount);
  assert.equal(raw, meta.header.dataBytes);
  assert.equal(file, meta.footer.indexOffset);
  assert.equal(file + meta.index.length * TIER1_INDEX_ENTRY_BYTES + TIER1_FOOTER_BYTES, meta.fileBytes);
}

describe('tier 1 decoders under random input', () => {
  test('arbitrary bytes: only a value or AOF_ERR_CORRUPT / AOF_ERR_INCOMPATIBLE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const h = codedOnly(() => decodeTier1Header(bytes));
        if (!(h instanceof AofError)) assert.equal(new DataView(bytes.buffer).getUint32(60, true), crc32(bytes.subarray(0, 60)));
        codedOnly(() => decodeTier1Footer(bytes, Math.max(0, bytes.length - TIER1_FOOTER_BYTES)));
        const meta = codedOnly(() => decodeTier1Image(bytes));
        if (!(meta instanceof AofError)) assertTiles(meta as Tier1Meta);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('arbitrary bytes behind a valid magic and CRC: still only coded errors', () => {
    // Random header/footer bodies with correct magic and CRC reach the field checks, not just the CRC.
    const sealed = (magic: string, body: Uint8Array): Uint8Array => {
      const out = new Uint8Array(64);
      for (let i = 0; i < 8; i++) out[i] = magic.charCodeAt(i);
      out.set(body.subarray(0, 52), 8);
      new DataView(out.buffer).setUint32(60, crc32(out.subarray(0, 60)), true);
      return out;
    };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 52, maxLength: 52 }), fc.boolean(), (body, v1) => {
        if (v1) body.set([1, 0, 64, 0], 0); // version 1, declared length 64: reach the deepest checks
        codedOnly(() => decodeTier1Header(sealed('AOF2T1\0\0', body)));
        codedOnly(() => decodeTier1Footer(sealed('AOF2T1E\0', body)));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('a damaged golden file is detected or harmless: never different metadata, never wrong frame bytes', async (t) => {
    const codec = loadZstd();
    const seen = { metaRejected: 0, metaAccepted: 0, frameRejected: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (mutations) => {
        let image: Uint8Array = GOLDEN;
        for (const m of mutations) image = applyMutation(image, m);
        const meta = codedOnly(() => decodeTier1Image(image));
        if (meta instanceof AofError) {
          seen.metaRejected++;
          return;
        }
        seen.metaAccepted++;
        assert.deepEqual(meta, GOLDEN_META, 'accepted metadata must be the original');
        for (const e of GOLDEN_META.index) {
          const compressed = image.subarray(e.fileOffset, e.fileOffset + e.compressedBytes);
          try {
            const raw = await decodeFrame(compressed, e, codec);
            assert.ok(sameBytes(raw, GOLDEN_DATA.subarray(e.rawOffset, e.rawOffset + e.rawBytes)), 'a frame that decodes is the original');
          } catch (err) {
            if (!(err instanceof AofError) || err.code !== ErrorCode.CORRUPT) throw err;
            seen.frameRejected++;
          }
        }
      }),
      { seed: SEED, numRuns: 600 },
    );
    // Both paths were exercised: damage caught by the metadata checks, and damage only a frame shows.
    assert.ok(seen.metaRejected > 50 && seen.metaAccepted > 50 && seen.frameRejected > 50, JSON.stringify(seen));
    t.diagnostic(JSON.stringify(seen));
  });

  test('an index rewritten with valid CRCs is accepted only if it still tiles the file', () => {
    const idxOff = GOLDEN_META.footer.indexOffset;
    const idxLen = GOLDEN_META.index.length * TIER1_INDEX_ENTRY_BYTES;
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat({ max: idxLen / 4 - 1 }), value: nastyU32 }), { minLength: 1, maxLength: 3 }), (edits) => {
        const image = GOLDEN.slice();
        const v = new DataView(image.buffer);
        for (const e of edits) v.setUint32(idxOff + e.at * 4, e.value, true);
        // Re-seal: index CRC into the footer, then the footer CRC.
        const footerOff = image.length - TIER1_FOOTER_BYTES;
        v.setUint32(footerOff + 24, crc32(image.subarray(idxOff, idxOff + idxLen)), true);
        v.setUint32(footerOff + 60, crc32(image.subarray(footerOff, footerOff + 60)), true);
        const meta = codedOnly(() => decodeTier1Image(image));
        if (!(meta instanceof AofError)) assertTiles(meta as Tier1Meta);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

const u32 = fc.nat({ max: 0xffff_ffff });
const headerArb: fc.Arbitrary<Tier1Header> = fc
  .record({
    codec: fc.constant(1),
    level: fc.integer({ min: 1, max: 22 }),
    baseId: fc.maxSafeNat(),
    recordCount: fc.nat({ max: 1_000_000 }),
    dataCrc: u32,
    frameTarget: u32,
    createdAt: fc.double({ noNaN: true }),
    slack: fc.nat({ max: 1_000_000 }),
  })
  .map(({ slack, ...h }) => ({ ...h, dataBytes: (h.recordCount * 16 + slack) & ~7 }))
  .filter((h) => h.dataBytes >= h.recordCount * 16 && h.dataBytes <= 0xffff_ffff);

describe('tier 1 encoders round trip', () => {
  test('headers', () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        const buf = new Uint8Array(TIER1_HEADER_BYTES + 5);
        assert.equal(encodeTier1HeaderInto(buf, 5, h), 5 + TIER1_HEADER_BYTES);
        assert.deepEqual(decodeTier1Header(buf, 5), h);
      }),
      { seed: SEED, numRuns: RUNS / 3 },
    );
  });

  test('index and footer built from random frame layouts', () => {
    const frameArb = fc.record({ records: fc.integer({ min: 1, max: 500 }), extra8: fc.nat({ max: 10_000 }), compressed: fc.integer({ min: 1, max: 1_000_000 }), rawCrc: u32 });
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 40 }), fc.maxSafeNat(), (frames, baseId) => {
        const index: FrameIndexEntry[] = [];
        let rec = 0;
        let raw = 0;
        let file = TIER1_HEADER_BYTES;
        for (const f of frames) {
          const rawBytes = f.records * 16 + f.extra8 * 8;
          index.push({ firstRecord: rec, recordCount: f.records, rawOffset: raw, rawBytes, fileOffset: file, compressedBytes: f.compressed, rawCrc: f.rawCrc });
          rec += f.records;
          raw += rawBytes;
          file += f.compressed;
        }
        const bytes = encodeFrameIndex(index);
        const footer: Tier1Footer = { frameCount: index.length, indexOffset: file, indexCrc: crc32(bytes), recordCount: rec, baseId };
        const fbuf = new Uint8Array(TIER1_FOOTER_BYTES);
        encodeTier1FooterInto(fbuf, 0, footer);
        assert.deepEqual(decodeTier1Footer(fbuf), footer);
        const header: Tier1Header = { codec: 1, level: 3, baseId, recordCount: rec, dataBytes: raw, dataCrc: 0, frameTarget: 1, createdAt: 0 };
        assert.deepEqual(decodeFrameIndex(bytes, footer, header), index);
      }),
      { seed: SEED, numRuns: RUNS / 3 },
    );
  });
});
