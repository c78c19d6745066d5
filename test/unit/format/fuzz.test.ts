/**
 * Property tests of the segment decoders against random damage. What must hold for ANY bytes:
 * - decodeHeader returns a CRC-valid header or throws AofError AOF_ERR_CORRUPT, nothing else;
 * - tryDecodeFooter returns a CRC-valid footer or null, and never throws;
 * - scanFrames never throws or hangs, and every frame it accepts is in bounds and has a matching CRC
 *   (checked here by an independent walk), so recovery can never keep a damaged record.
 *
 * Seeded and bounded by run count, so a failure reproduces exactly (fast-check prints the seed and
 * the shrunk counterexample); the whole file takes about a second.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { frameOffsetOf, scanFrames } from '../../../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader, tryDecodeFooter } from '../../../src/format/segment.js';
import { buildSegment, type FrameSpec } from '../../../support/frames.js';

const SEED = 0x0a0f2;
const RUNS = 4000;

const recordArb: fc.Arbitrary<FrameSpec> = fc.record({
  payload: fc.uint8Array({ maxLength: 70 }),
  timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
});

const imageSpecArb = fc.record({
  baseId: fc.maxSafeNat(),
  createdAt: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  records: fc.array(recordArb, { maxLength: 24 }),
  sealed: fc.boolean(),
});

/** Values a corrupt length field likes to take, including the ones that used to wrap frameLength. */
const nastyU32 = fc.oneof(
  fc.constantFrom(0, 1, 7, 8, 16, 0x7fff_ffe9, 0x7fff_ffff, 0x8000_0000, 0xffff_fff0, 0xffff_ffff),
  fc.nat({ max: 0xffff_ffff }),
);

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'copy'; from: number; to: number; length: number }
  | { op: 'recrcFrame'; at: number }
  | { op: 'frameLength'; at: number; value: number; recrc: boolean }
  | { op: 'recrcHeader' }
  | { op: 'recrcFooter' };

/** Positions are fractions of the current length, so a mutation always lands inside the image. */
const pos = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: pos, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('u32' as const), at: pos, value: nastyU32 }),
  fc.record({ op: fc.constant('truncate' as const), at: pos }),
  fc.record({ op: fc.constant('extend' as const), bytes: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(new Uint8Array(32))) }),
  fc.record({ op: fc.constant('copy' as const), from: pos, to: pos, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('recrcFrame' as const), at: pos }),
  fc.record({ op: fc.constant('frameLength' as const), at: pos, value: nastyU32, recrc: fc.boolean() }),
  fc.constant({ op: 'recrcHeader' as const }),
  fc.constant({ op: 'recrcFooter' as const }),
);

function applyMutation(image: Uint8Array, m: Mutation): Uint8Array {
  const at = (f: number): number => Math.floor(f * image.length);
  switch (m.op) {
    case 'flip': {
      if (image.length === 0) return image;
      const out = image.slice();
      out[at(m.at)] = out[at(m.at)]! ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      if (image.length === 0) return image;
      const out = image.slice();
      out[at(m.at)] = m.value;
      return out;
    }
    case 'u32': {
      const where = at(m.at) & ~3; // field-aligned, like a real length or CRC field
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
    case 'copy': {
      const out = image.slice();
      const from = at(m.from);
      out.set(image.subarray(from, Math.min(from + m.length, image.length - at(m.to) + from)), at(m.to));
      return out;
    }
    case 'recrcFrame': {
      // Make the frame at an 8-aligned data offset "check out" over whatever range its length field
      // claims, clamped to the image: the adversarial case for a scanner that trusts lengths.
      const where = SEGMENT_HEADER_BYTES + ((at(m.at) - SEGMENT_HEADER_BYTES) & ~7);
      if (where < SEGMENT_HEADER_BYTES || where + 16 > image.length) return image;
      const out = image.slice();
      const view = new DataView(out.buffer);
      const len = view.getUint32(where, true);
      view.setUint32(where + 4, crc32(out.subarray(where + 8, Math.min(where + 16 + len, out.length))), true);
      return out;
    }
    case 'frameLength': {
      // Structured damage: rewrite the length field of one actual frame (found by walking lengths
      // from the data start), optionally with a CRC that matches the clamped range it now claims.
      const starts = frameStarts(image);
      if (starts.length === 0) return image;
      const where = starts[Math.floor(m.at * starts.length)]!;
      const out = image.slice();
      const view = new DataView(out.buffer);
      view.setUint32(where, m.value, true);
      if (m.recrc) view.setUint32(where + 4, crc32(out.subarray(where + 8, Math.min(where + 16 + m.value, out.length))), true);
      return out;
    }
    case 'recrcHeader':
      return recrcAt(image, 0);
    case 'recrcFooter':
      return recrcAt(image, image.length - SEGMENT_FOOTER_BYTES);
  }
}

/** Offsets of the frames reachable by hopping over length fields from the data start. */
function frameStarts(image: Uint8Array): number[] {
  const out: number[] = [];
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (let off = SEGMENT_HEADER_BYTES; off + 16 <= image.length; off += referenceFrameLength(view.getUint32(off, true))) out.push(off);
  return out;
}

function recrcAt(image: Uint8Array, off: number): Uint8Array {
  if (off < 0 || off + 64 > image.length) return image;
  const out = image.slice();
  new DataView(out.buffer).setUint32(off + 60, crc32(out.subarray(off, off + 60)), true);
  return out;
}

/** Frame length computed independently of the engine's frameLength (no bit tricks). */
function referenceFrameLength(payloadLength: number): number {
  return 16 + Math.ceil(payloadLength / 8) * 8;
}

/** Checks the invariants for one (possibly damaged) image. */
function checkDecoders(image: Uint8Array): void {
  // Header: a valid header or a coded corruption error, nothing else.
  try {
    decodeHeader(image);
    assert.ok(image.length >= 64);
    assert.equal(new DataView(image.buffer, image.byteOffset).getUint32(60, true), crc32(image.subarray(0, 60)));
  } catch (err) {
    if (!(err instanceof AofError) || err.code !== ErrorCode.CORRUPT) throw err;
  }

  // Footer: at the end where recovery looks, and at every 8-aligned offset (short input included).
  const offsets = new Set<number>();
  if (image.length >= SEGMENT_FOOTER_BYTES) offsets.add(image.length - SEGMENT_FOOTER_BYTES);
  for (let o = 0; o <= image.length; o += 8) offsets.add(o);
  for (const o of offsets) {
    if (tryDecodeFooter(image, o) !== null) {
      assert.equal(new DataView(image.buffer, image.byteOffset).getUint32(o + 60, true), crc32(image.subarray(o, o + 60)));
    }
  }

  // Frames: everything accepted must be in bounds and CRC-correct.
  const start = Math.min(SEGMENT_HEADER_BYTES, image.length);
  const end = image.length;
  const scan = scanFrames(image, start, end);
  assert.ok(scan.validBytes >= 0 && scan.validBytes <= end - start, `validBytes ${scan.validBytes}`);
  assert.equal(scan.validBytes % 8, 0);
  assert.equal(scan.stopReason === null, scan.validBytes === end - start, String(scan.stopReason));
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  let off = start;
  for (let i = 0; i < scan.count; i++) {
    assert.equal(frameOffsetOf(image, start, end, i), off - start);
    const len = view.getUint32(off, true);
    const frame = referenceFrameLength(len);
    assert.ok(off + frame <= start + scan.validBytes, `frame ${i} runs past the accepted prefix`);
    assert.equal(view.getUint32(off + 4, true), crc32(image.subarray(off + 8, off + 16 + len)), `frame ${i} crc`);
    off += frame;
  }
  assert.equal(off - start, scan.validBytes);
}

function makeImage(spec: { baseId: number; createdAt: number; records: FrameSpec[]; sealed: boolean }): Uint8Array {
  return buildSegment({
    baseId: spec.baseId,
    segmentBytes: 4096,
    createdAt: spec.createdAt,
    records: spec.records,
    ...(spec.sealed ? { sealedAt: spec.createdAt + 1 } : {}),
  });
}

describe('segment decoders under random input', () => {
  test('undamaged images decode exactly', () => {
    fc.assert(
      fc.property(imageSpecArb, (spec) => {
        const image = makeImage(spec);
        assert.deepEqual(decodeHeader(image), { segmentBytes: 4096, baseId: spec.baseId, createdAt: spec.createdAt });
        const dataEnd = spec.sealed ? image.length - SEGMENT_FOOTER_BYTES : image.length;
        const footer = tryDecodeFooter(image, image.length - SEGMENT_FOOTER_BYTES);
        if (spec.sealed) {
          assert.equal(footer?.recordCount, spec.records.length);
          assert.equal(footer?.dataBytes, dataEnd - SEGMENT_HEADER_BYTES);
          assert.equal(footer?.baseId, spec.baseId);
        } else {
          assert.equal(footer, null);
        }
        const scan = scanFrames(image, SEGMENT_HEADER_BYTES, dataEnd);
        assert.equal(scan.count, spec.records.length);
        assert.equal(scan.stopReason, null);
      }),
      { seed: SEED, numRuns: RUNS / 4 },
    );
  });

  test('damaged images: only AOF_ERR_CORRUPT or null, never a frame with a bad CRC', () => {
    fc.assert(
      fc.property(imageSpecArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (spec, mutations) => {
        let image = makeImage(spec);
        for (const m of mutations) image = applyMutation(image, m);
        checkDecoders(image);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('arbitrary bytes: same invariants', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => checkDecoders(bytes)),
      { seed: SEED, numRuns: RUNS / 4 },
    );
  });
});
