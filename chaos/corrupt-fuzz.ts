/**
 * Scenario `corrupt-fuzz`: seeded damage to real files, then decode or open them. Never a crash (a
 * throw that is not a coded AofError), never a hang, never wrong data; always a coded error or a
 * clean recovery.
 *
 * The files come from two real roots the scenario writes first (two streams of varied records,
 * 16 KiB segments): one with Tier 1 on (`.t1` files, manifest chunks, plus a catalog snapshot
 * written with `ManifestLog.snapshot()`), one with Tier 1 off (raw `.seg` files). Mutations
 * (seeded, 1 to 3 per case): bit flips, truncation, overwrite with random bytes, zero fill of a
 * range, and a field-aligned 32-bit value of the kind a corrupt length likes to take.
 *
 * Two kinds of case:
 * - in memory (most): a mutated image through the format decoders the engine uses. Segment:
 *   header and footer decode to exactly the original or fail coded; the frames `scanFrames` accepts
 *   are byte-identical to the original's; a footer that decodes is only trusted with a matching
 *   data CRC. Tier 1: `decodeTier1Image` gives exactly the original metadata or a coded error, and
 *   every frame (checked against the decoded index, and against the original index as a reader
 *   that cached it would) decompresses to exactly the original bytes or fails coded. Manifest
 *   chunk: the header decodes exactly or fails coded, every record the decoder accepts is the
 *   original record at that offset, the scan always progresses. Snapshot: decodes to exactly the
 *   original or fails coded.
 * - whole root (fewer): a copy of a root with one file mutated (segment, `.t1`, manifest chunk or
 *   snapshot), opened with `AofManager` and read from every stream's first id to its next id, every
 *   step bounded. Each record read must be the original; a failure must be a coded AofError. When
 *   a stream comes back complete, the case is a clean recovery; when the manifest was damaged the
 *   corruption metric (`aof_manifest_replay_corruption_events`, `stats().manifest`) must show it
 *   unless the damage was harmless (the catalog came back whole). A stream that comes back shorter
 *   than written without any error is silent loss: a failure.
 * - unsealed after kill -9 (issue 10): a real writer (support/damage-child.ts) acknowledges
 *   KILLED_RECORDS appends under fsync 'always' and is killed with SIGKILL, leaving its segment
 *   unsealed. Each case damages that segment (a bit in a payload, in the header, in a length or
 *   CRC field, a generic mutation) or appends a torn tail past it, then opens the root. The engine
 *   must open with every acknowledged record intact, or fail with AOF_ERR_CORRUPT and leave the
 *   file byte for byte as it was. Anything else (fewer records without an error, a changed file,
 *   another error) fails the run.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { isDeepStrictEqual } from 'node:util';
import { loadZstd, type Codec } from '../src/codec/zstd.js';
import { AofError, AofManager, ErrorCode, type AofManagerOptions } from '../src/index.js';
import { decodeChunkHeader, decodeManifestRecord, CHUNK_HEADER_BYTES, type ChunkHeader, type ManifestRecord } from '../src/format/manifest.js';
import { RECORD_PAYLOAD_OFFSET, frameLength, readFramePayloadLength, scanFrames } from '../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader, tryDecodeFooter, type SegmentFooter, type SegmentHeader } from '../src/format/segment.js';
import { decodeSnapshot, type Snapshot } from '../src/format/snapshot.js';
import { ManifestLog } from '../src/manifest/manifest-log.js';
import { seededRandom } from '../src/seeded-random.js';
import { decodeFrame, decodeTier1Image, type Tier1Meta } from '../src/format/tier1-file.js';
import { DAMAGE_OPTIONS, DAMAGE_STREAM, damagePayload } from '../support/damage-workload.js';
import { payloadFor, sameBytes, tempRoot } from '../support/tmp.js';
import { Tally, describeError, type Scenario, type ScenarioContext, type ScenarioReport } from './scenario.js';
import { CHUNK_FILE_SUFFIX, manifestDir, SEGMENT_FILE_SUFFIX, SNAPSHOT_FILE_SUFFIX, streamDir, TIER1_FILE_SUFFIX } from '../src/format/root-layout.js';

const FULL_CASES = 100_000;
const QUICK_CASES = 3_000;
const QUICK_ROOT_CASES = 40;
/** Cases on the unsealed segment of a killed writer (issue 10): a share of the whole-root time. */
const QUICK_UNSEALED_CASES = 24;
const FULL_UNSEALED_SHARE = 0.15;
/** Records the killed writer acknowledged, all in its one unsealed segment. */
const KILLED_RECORDS = 120;
const DAMAGE_CHILD = fileURLToPath(new URL('../support/damage-child.js', import.meta.url));
const STREAMS = ['fuzz-a', 'fuzz-b'] as const;
const RECORDS = 900;
const SEGMENT_BYTES = 16 * 1024;
const STEP_MS = 10_000;
/** A synchronous decode slower than this counts as hung (a real infinite loop would stop the run). */
const SLOW_CASE_MS = 1000;
const CODED = new Set<string>([ErrorCode.CORRUPT, ErrorCode.INCOMPATIBLE]);
/** Codes a whole-root open or read may end with on damaged files. */
const ROOT_CODED = new Set<string>([ErrorCode.CORRUPT, ErrorCode.INCOMPATIBLE, ErrorCode.IO, ErrorCode.UNAVAILABLE, ErrorCode.INVALID_ARGUMENT]);

function size(s: number, id: number): number {
  const h = (Math.imul(id + 1, 2654435761) ^ Math.imul(s + 3, 40503)) >>> 0;
  return id % 19 === 0 ? 0 : h % 700;
}
const expected = (s: number, id: number): Uint8Array => payloadFor(id * 2 + s + 1, size(s, id));

function rootOptions(root: string, tier1: boolean): AofManagerOptions {
  return {
    root,
    tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: tier1 ? { frameBytes: 4096, compressionLevel: 1 } : { enabled: false },
    tier2: { kind: 'none' },
    fsync: 'never',
  };
}

// ---------------------------------------------------------------------------------------------
// Mutations

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const NASTY = [0, 1, 7, 8, 16, 64, 0x7fff_ffff, 0x8000_0000, 0xffff_fff0, 0xffff_ffff];

/** Applies one seeded mutation; returns the new image and its name (for the figures). */
function mutate(image: Uint8Array, rand: Rand): { image: Uint8Array; op: string } {
  const n = image.length;
  const op = int(rand, 10);
  if (n === 0) return { image, op: 'none' };
  if (op < 4) {
    const out = image.slice();
    const flips = 1 + int(rand, 4);
    for (let i = 0; i < flips; i++) out[int(rand, n)]! ^= 1 << int(rand, 8);
    return { image: out, op: 'flip' };
  }
  if (op < 5) return { image: image.slice(0, int(rand, n)), op: 'truncate' };
  if (op < 7) {
    const out = image.slice();
    const at = int(rand, n);
    const len = 1 + int(rand, 64);
    for (let i = at; i < Math.min(n, at + len); i++) out[i] = int(rand, 256);
    return { image: out, op: 'overwrite' };
  }
  if (op < 9) {
    const out = image.slice();
    const at = int(rand, n);
    const len = rand() < 0.2 ? n : 1 + int(rand, 4096);
    out.fill(0, at, Math.min(n, at + len));
    return { image: out, op: 'zero' };
  }
  const where = int(rand, n) & ~3;
  if (where + 4 > n) return { image, op: 'none' };
  const out = image.slice();
  new DataView(out.buffer).setUint32(where, rand() < 0.5 ? NASTY[int(rand, NASTY.length)]! : int(rand, 2 ** 32), true);
  return { image: out, op: 'u32' };
}

// ---------------------------------------------------------------------------------------------
// Originals

interface SegmentOriginal {
  kind: 'segment';
  bytes: Uint8Array;
  header: SegmentHeader;
  footer: SegmentFooter;
}
interface Tier1Original {
  kind: 'tier1';
  bytes: Uint8Array;
  meta: Tier1Meta;
  frames: Uint8Array[];
}
interface ChunkOriginal {
  kind: 'chunk';
  bytes: Uint8Array;
  header: ChunkHeader;
  records: Map<number, ManifestRecord>;
}
interface SnapshotOriginal {
  kind: 'snapshot';
  bytes: Uint8Array;
  snapshot: Snapshot;
}
type Original = SegmentOriginal | Tier1Original | ChunkOriginal | SnapshotOriginal;

async function originals(roots: string[], codec: Codec): Promise<Original[]> {
  const out: Original[] = [];
  for (const root of roots) {
    for (const stream of STREAMS) {
      const dir = streamDir(root, stream);
      for (const name of readdirSync(dir).sort()) {
        const bytes = new Uint8Array(readFileSync(join(dir, name)));
        if (name.endsWith(SEGMENT_FILE_SUFFIX)) {
          const footer = tryDecodeFooter(bytes, bytes.length - SEGMENT_FOOTER_BYTES);
          if (footer === null) throw new Error(`${name}: the base root has an unsealed segment`);
          out.push({ kind: 'segment', bytes, header: decodeHeader(bytes), footer });
        } else if (name.endsWith(TIER1_FILE_SUFFIX)) {
          const meta = decodeTier1Image(bytes);
          const frames: Uint8Array[] = [];
          for (const e of meta.index) frames.push(await decodeFrame(bytes.subarray(e.fileOffset, e.fileOffset + e.compressedBytes), e, codec));
          out.push({ kind: 'tier1', bytes, meta, frames });
        }
      }
    }
    const mdir = manifestDir(root);
    for (const name of readdirSync(mdir).sort()) {
      const bytes = new Uint8Array(readFileSync(join(mdir, name)));
      if (name.endsWith(CHUNK_FILE_SUFFIX)) {
        const header = decodeChunkHeader(bytes);
        const records = new Map<number, ManifestRecord>();
        for (let off = CHUNK_HEADER_BYTES; off < CHUNK_HEADER_BYTES + header.committedBytes; ) {
          const r = decodeManifestRecord(bytes, off, CHUNK_HEADER_BYTES + header.committedBytes);
          if (!r.ok) throw new Error(`${name}: the base root has a bad manifest record at ${off}`);
          records.set(off, r.record);
          off = r.next;
        }
        out.push({ kind: 'chunk', bytes, header, records });
      } else if (name.endsWith(SNAPSHOT_FILE_SUFFIX)) {
        out.push({ kind: 'snapshot', bytes, snapshot: decodeSnapshot(bytes) });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// In-memory cases

type Verdict = 'detected' | 'harmless' | 'wrong';

/** Runs a decoder: its value, or the coded error; anything else (a crash) is rethrown. */
function coded<T>(fn: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof AofError && CODED.has(err.code)) return { ok: false };
    throw err;
  }
}

async function codedAsync<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof AofError && CODED.has(err.code)) return { ok: false };
    throw err;
  }
}

function checkSegment(o: SegmentOriginal, img: Uint8Array): { verdict: Verdict; why?: string } {
  let detected = false;
  const h = coded(() => decodeHeader(img));
  if (h.ok && !isDeepStrictEqual(h.value, o.header)) return { verdict: 'wrong', why: 'header decoded to different values' };
  if (!h.ok) detected = true;
  const f = coded(() => tryDecodeFooter(img, Math.max(0, img.length - SEGMENT_FOOTER_BYTES)));
  const footer = f.ok ? f.value : null;
  if (footer !== null && !isDeepStrictEqual(footer, o.footer)) return { verdict: 'wrong', why: 'footer decoded to different values' };
  if (footer === null) detected = true;
  const dataEnd = Math.min(img.length, SEGMENT_HEADER_BYTES + o.footer.dataBytes);
  if (footer !== null) {
    // The engine trusts a sealed segment's data only with a matching CRC over exactly dataBytes.
    const data = img.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + footer.dataBytes);
    if (data.length === footer.dataBytes && crc32(data) === footer.dataCrc) {
      if (!sameBytes(data, o.bytes.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + o.footer.dataBytes))) return { verdict: 'wrong', why: 'data passed the footer CRC but differs' };
    } else detected = true;
  }
  // Recovery of an unsealed tail: the frames it keeps must be the original ones.
  const scan = scanFrames(img, SEGMENT_HEADER_BYTES, dataEnd);
  // Compared frame by frame: header, timestamp and payload (the CRC's coverage); the alignment
  // padding after a payload carries nothing and may differ.
  const view = new DataView(img.buffer, img.byteOffset, img.byteLength);
  for (let off = SEGMENT_HEADER_BYTES, i = 0; i < scan.count; i++) {
    const len = readFramePayloadLength(view, off);
    const end = off + RECORD_PAYLOAD_OFFSET + len;
    if (!sameBytes(img.subarray(off, end), o.bytes.subarray(off, end))) return { verdict: 'wrong', why: `scanFrames accepted frame ${i} at ${off}, which differs from the original` };
    off += frameLength(len);
  }
  if (scan.count < o.footer.recordCount) detected = true;
  return { verdict: detected ? 'detected' : 'harmless' };
}

async function checkTier1(o: Tier1Original, img: Uint8Array, codec: Codec, rand: Rand): Promise<{ verdict: Verdict; why?: string }> {
  let detected = false;
  const m = coded(() => decodeTier1Image(img));
  if (m.ok) {
    const meta = m.value;
    if (!isDeepStrictEqual(meta.header, o.meta.header) || !isDeepStrictEqual(meta.footer, o.meta.footer) || !isDeepStrictEqual(meta.index, o.meta.index)) {
      return { verdict: 'wrong', why: 'metadata decoded to different values' };
    }
  } else detected = true;
  // Frames through the original index (a reader that read the metadata before the damage): a few per case.
  const picks = Math.min(o.meta.index.length, 2);
  for (let i = 0; i < picks; i++) {
    const f = int(rand, o.meta.index.length);
    const e = o.meta.index[f]!;
    const bytes = img.subarray(e.fileOffset, Math.min(img.length, e.fileOffset + e.compressedBytes));
    const r = await codedAsync(() => decodeFrame(bytes, e, codec));
    if (r.ok && !sameBytes(r.value, o.frames[f]!)) return { verdict: 'wrong', why: `frame ${f} decompressed to different bytes` };
    if (!r.ok) detected = true;
  }
  return { verdict: detected ? 'detected' : 'harmless' };
}

function checkChunk(o: ChunkOriginal, img: Uint8Array, tally: Tally): { verdict: Verdict; why?: string } {
  let detected = false;
  const h = coded(() => decodeChunkHeader(img));
  if (h.ok && !isDeepStrictEqual(h.value, o.header)) return { verdict: 'wrong', why: 'chunk header decoded to different values' };
  if (!h.ok) detected = true;
  // Replay scans the committed region; scan the whole image (the torn tail too).
  for (let off = CHUNK_HEADER_BYTES; off < img.length; ) {
    const r = decodeManifestRecord(img, off, img.length);
    if (r.next <= off) {
      tally.hung++;
      return { verdict: 'wrong', why: `manifest scan stalled at ${off}` };
    }
    if (r.ok) {
      const want = o.records.get(off);
      if (want === undefined) {
        // Past the committed length a record may be new (uncommitted tail), never inside it.
        if (off < CHUNK_HEADER_BYTES + o.header.committedBytes) return { verdict: 'wrong', why: `a record decoded at ${off}, not a record boundary` };
      } else if (!isDeepStrictEqual(r.record, want)) return { verdict: 'wrong', why: `record at ${off} decoded to different values` };
    } else if (off < CHUNK_HEADER_BYTES + o.header.committedBytes) detected = true;
    off = r.next;
  }
  return { verdict: detected ? 'detected' : 'harmless' };
}

function checkSnapshot(o: SnapshotOriginal, img: Uint8Array): { verdict: Verdict; why?: string } {
  const s = coded(() => decodeSnapshot(img));
  if (!s.ok) return { verdict: 'detected' };
  if (!isDeepStrictEqual(s.value.header, o.snapshot.header) || !isDeepStrictEqual([...s.value.streams], [...o.snapshot.streams])) {
    return { verdict: 'wrong', why: 'snapshot decoded to different values' };
  }
  return { verdict: 'harmless' };
}

async function memoryCase(tally: Tally, o: Original, rand: Rand, codec: Codec, caseNo: number): Promise<void> {
  let img = o.bytes;
  const ops: string[] = [];
  const count = 1 + int(rand, 3);
  for (let i = 0; i < count; i++) {
    const m = mutate(img, rand);
    img = m.image;
    ops.push(m.op);
  }
  const started = performance.now();
  let result: { verdict: Verdict; why?: string };
  try {
    if (o.kind === 'segment') result = checkSegment(o, img);
    else if (o.kind === 'tier1') result = await checkTier1(o, img, codec, rand);
    else if (o.kind === 'chunk') result = checkChunk(o, img, tally);
    else result = checkSnapshot(o, img);
  } catch (err) {
    tally.add('memory.crash', 1);
    tally.fail(`in-memory case ${caseNo} (${o.kind}, ${ops.join('+')}): a decoder threw ${describeError(err)}`);
    return;
  }
  const ms = performance.now() - started;
  if (ms > SLOW_CASE_MS) {
    tally.hung++;
    tally.fail(`in-memory case ${caseNo} (${o.kind}): took ${ms.toFixed(0)} ms`);
  }
  tally.add(`memory.${o.kind}.${result.verdict}`, 1);
  for (const op of ops) tally.add(`mutation.${op}`, 1);
  if (result.verdict === 'wrong') {
    tally.lost++;
    tally.fail(`in-memory case ${caseNo} (${o.kind}, ${ops.join('+')}): wrong data: ${result.why}`);
  }
  tally.injected++;
}

// ---------------------------------------------------------------------------------------------
// Whole-root cases

interface BaseRoot {
  root: string;
  tier1: boolean;
  files: { path: string; kind: 'segment' | 'tier1' | 'chunk' | 'snapshot' }[];
}

function listFiles(root: string): BaseRoot['files'] {
  const files: BaseRoot['files'] = [];
  for (const stream of STREAMS) {
    for (const name of readdirSync(streamDir(root, stream))) {
      if (name.endsWith(SEGMENT_FILE_SUFFIX)) files.push({ path: join('streams', stream, name), kind: 'segment' });
      if (name.endsWith(TIER1_FILE_SUFFIX)) files.push({ path: join('streams', stream, name), kind: 'tier1' });
    }
  }
  for (const name of readdirSync(manifestDir(root))) {
    if (name.endsWith(CHUNK_FILE_SUFFIX)) files.push({ path: join('manifest', name), kind: 'chunk' });
    if (name.endsWith(SNAPSHOT_FILE_SUFFIX)) files.push({ path: join('manifest', name), kind: 'snapshot' });
  }
  return files;
}

async function rootCase(tally: Tally, base: BaseRoot, scratch: string, rand: Rand, caseNo: number): Promise<void> {
  // Manifest files are few but matter most: pick them half of the time.
  const manifestFiles = base.files.filter((f) => f.kind === 'chunk' || f.kind === 'snapshot');
  const dataFiles = base.files.filter((f) => f.kind === 'segment' || f.kind === 'tier1');
  const pool = rand() < 0.5 && manifestFiles.length > 0 ? manifestFiles : dataFiles;
  const file = pool[int(rand, pool.length)]!;
  const dir = join(scratch, `case-${caseNo}`);
  cpSync(base.root, dir, { recursive: true });
  const path = join(dir, file.path);
  let img: Uint8Array = new Uint8Array(readFileSync(path));
  const ops: string[] = [];
  for (let i = 0, n = 1 + int(rand, 2); i < n; i++) {
    const m = mutate(img, rand);
    img = m.image;
    ops.push(m.op);
  }
  writeFileSync(path, img);
  const where = `root case ${caseNo} (${file.kind} ${file.path}, ${ops.join('+')}, tier1 ${base.tier1 ? 'on' : 'off'})`;
  tally.injected++;
  tally.add(`root.${file.kind}`, 1);
  let outcome = 'clean';
  let manager: AofManager | null = null;
  try {
    manager = await tally.bounded(AofManager.open(rootOptions(dir, base.tier1)), STEP_MS, `${where}: open`);
    const corruption = manager.stats().manifest.corruptionEvents;
    let complete = true;
    let codedSeen = false;
    for (let s = 0; s < STREAMS.length; s++) {
      let log;
      try {
        log = await tally.bounded(manager.openStream(STREAMS[s]!), STEP_MS, `${where}: openStream`);
      } catch (err) {
        if (!(err instanceof AofError) || !ROOT_CODED.has(err.code)) throw err;
        codedSeen = true;
        continue;
      }
      const { firstId, nextId } = log;
      if (firstId !== 0 || nextId !== RECORDS) complete = false;
      const reader = log.openReader({ from: firstId });
      let id = firstId;
      try {
        while (id < nextId) {
          const rec = await tally.bounded(reader.next(), STEP_MS, `${where}: next() at ${id}`);
          if (rec === null) {
            complete = false;
            break;
          }
          if (rec.id !== id || !sameBytes(rec.payload, expected(s, rec.id))) {
            tally.lost++;
            tally.fail(`${where}: stream ${s}: record ${rec.id} (expected id ${id}) is wrong data`);
            break;
          }
          tally.verified++;
          id++;
        }
      } catch (err) {
        if (!(err instanceof AofError) || !ROOT_CODED.has(err.code)) throw err;
        codedSeen = true;
      } finally {
        reader.close();
      }
    }
    if (codedSeen) outcome = 'codedError';
    else if (!complete) {
      // Records vanished without an error. Only acceptable if the manifest damage was reported.
      if ((file.kind === 'chunk' || file.kind === 'snapshot') && corruption > 0) outcome = 'shortWithCorruptionMetric';
      else {
        outcome = 'silentLoss';
        tally.fail(`${where}: a stream came back shorter than written without any error (corruption events ${corruption})`);
      }
    } else if (corruption > 0) outcome = 'recoveredWithCorruptionMetric';
  } catch (err) {
    if (err instanceof AofError && ROOT_CODED.has(err.code)) outcome = 'codedError';
    else if (err instanceof Error && err.name === 'HungError') {
      outcome = 'hung';
      tally.fail(`${where}: ${err.message}`);
    } else {
      outcome = 'crash';
      tally.fail(`${where}: ${describeError(err)}`);
    }
  } finally {
    if (manager !== null) {
      await tally.bounded(manager.close(), STEP_MS, `${where}: close`).catch((err: unknown) => {
        if (!(err instanceof AofError)) tally.fail(`${where}: close threw ${describeError(err)}`);
      });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  tally.add(`root.outcome.${outcome}`, 1);
}

// ---------------------------------------------------------------------------------------------
// Unsealed segment of a killed writer

/** Runs the damage child until it acknowledged `KILLED_RECORDS`, then SIGKILLs it. */
async function killedWriter(tally: Tally, root: string): Promise<void> {
  const child = spawn(process.execPath, [DAMAGE_CHILD, root, String(KILLED_RECORDS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let out = '';
  try {
    await tally.bounded(
      new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (s: string) => {
          out += s;
          if (out.includes('ready\n')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`damage child exited with ${code} before ready`)));
      }),
      60_000,
      'killed writer: ready',
    );
    if (!out.includes(`acked ${KILLED_RECORDS - 1}\n`)) throw new Error(`damage child acknowledged ${out.trim()}`);
  } finally {
    child.kill('SIGKILL');
    await closed;
  }
}

/** Targeted damage to an unsealed segment of 216-byte frames: the fields issue 10 names, or a generic mutation. */
function damageUnsealed(image: Uint8Array, rand: Rand): { image: Uint8Array; op: string; torn: boolean } {
  const frames = (image.length - SEGMENT_HEADER_BYTES) / frameLength(200);
  const frameAt = (i: number): number => SEGMENT_HEADER_BYTES + i * frameLength(200);
  const out = image.slice();
  const flip = (at: number): void => {
    out[at]! ^= 1 << int(rand, 8);
  };
  const pick = int(rand, 7);
  if (pick === 0) flip(frameAt(int(rand, frames)) + RECORD_PAYLOAD_OFFSET + int(rand, 200));
  else if (pick === 1) flip(int(rand, SEGMENT_HEADER_BYTES));
  else if (pick === 2) flip(frameAt(int(rand, frames)) + int(rand, 4));
  else if (pick === 3) flip(frameAt(int(rand, frames)) + 4 + int(rand, 4));
  else if (pick === 4) {
    // A torn tail past the acknowledged records: zeros, garbage or part of a frame.
    const len = 1 + int(rand, 3000);
    const tail = new Uint8Array(len);
    if (rand() < 0.5) for (let i = 0; i < len; i++) tail[i] = int(rand, 256);
    const joined = new Uint8Array(image.length + len);
    joined.set(image);
    joined.set(tail, image.length);
    return { image: joined, op: 'tornTail', torn: true };
  } else return { ...mutate(image, rand), torn: false };
  return { image: out, op: ['payloadBit', 'headerBit', 'lengthBit', 'crcBit'][pick]!, torn: false };
}

async function unsealedCase(tally: Tally, base: string, scratch: string, rand: Rand, caseNo: number): Promise<void> {
  const dir = join(scratch, `unsealed-${caseNo}`);
  cpSync(base, dir, { recursive: true });
  const segDir = streamDir(dir, DAMAGE_STREAM);
  const path = join(segDir, readdirSync(segDir).find((n) => n.endsWith(SEGMENT_FILE_SUFFIX))!);
  const original = new Uint8Array(readFileSync(path));
  const m = damageUnsealed(original, rand);
  writeFileSync(path, m.image);
  const where = `unsealed case ${caseNo} (${m.op})`;
  tally.injected++;
  tally.add(`unsealed.op.${m.op}`, 1);
  let outcome = 'intact';
  let manager: AofManager | null = null;
  try {
    manager = await tally.bounded(AofManager.open({ root: dir, ...DAMAGE_OPTIONS }), STEP_MS, `${where}: open`);
    const log = await tally.bounded(manager.openStream(DAMAGE_STREAM), STEP_MS, `${where}: openStream`);
    const reader = log.openReader({ from: 0 });
    let id = 0;
    try {
      for (; id < KILLED_RECORDS; id++) {
        const rec = await tally.bounded(reader.next(), STEP_MS, `${where}: next() at ${id}`);
        if (rec === null) break;
        if (rec.id !== id || !sameBytes(rec.payload, damagePayload(id))) {
          tally.lost++;
          tally.fail(`${where}: record ${rec.id} (expected ${id}) is wrong data`);
          outcome = 'wrongData';
          break;
        }
        tally.verified++;
      }
    } finally {
      reader.close();
    }
    if (outcome === 'intact' && (id < KILLED_RECORDS || log.nextId < KILLED_RECORDS)) {
      outcome = 'silentLoss';
      tally.lost += KILLED_RECORDS - id;
      tally.fail(`${where}: opened with ${id} of ${KILLED_RECORDS} acknowledged records and no error`);
    }
  } catch (err) {
    if (err instanceof AofError && err.code === ErrorCode.CORRUPT) {
      outcome = 'corrupt';
      if (!sameBytes(new Uint8Array(readFileSync(path)), m.image)) {
        outcome = 'changedOnError';
        tally.fail(`${where}: AOF_ERR_CORRUPT, but the segment file was changed`);
      }
    } else if (err instanceof Error && err.name === 'HungError') {
      outcome = 'hung';
      tally.fail(`${where}: ${err.message}`);
    } else {
      outcome = 'otherError';
      tally.fail(`${where}: ${describeError(err)} (only AOF_ERR_CORRUPT or a clean open is allowed)`);
    }
  } finally {
    if (manager !== null) await tally.bounded(manager.close(), STEP_MS, `${where}: close`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  // A torn tail past the acknowledged records is the one case that must open.
  if (m.torn && outcome !== 'intact' && outcome !== 'silentLoss') tally.fail(`${where}: a torn tail was not recovered (${outcome})`);
  tally.add(`unsealed.outcome.${outcome}`, 1);
}

// ---------------------------------------------------------------------------------------------

async function buildRoot(root: string, tier1: boolean): Promise<void> {
  const manager = await AofManager.open(rootOptions(root, tier1));
  try {
    const logs = await Promise.all(STREAMS.map((s) => manager.openStream(s)));
    for (let id = 0; id < RECORDS; id++) for (let s = 0; s < logs.length; s++) await logs[s]!.append(expected(s, id));
  } finally {
    await manager.close();
  }
  // A catalog snapshot too, so snapshot files are among the targets.
  const { manifest } = await ManifestLog.open({ dir: manifestDir(root) });
  try {
    await manifest.snapshot();
  } finally {
    await manifest.close();
  }
}

async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const tally = new Tally('corrupt-fuzz');
  const target = ctx.quick ? QUICK_CASES : FULL_CASES;
  const rootTarget = ctx.quick ? QUICK_ROOT_CASES : 200;
  const { root: scratch, cleanup } = tempRoot('aof2-chaos-fuzz-');
  const codec = loadZstd();
  try {
    const bases: BaseRoot[] = [];
    for (const tier1 of [true, false]) {
      const root = join(scratch, tier1 ? 'base-tier1' : 'base-raw');
      mkdirSync(root);
      await buildRoot(root, tier1);
      bases.push({ root, tier1, files: listFiles(root) });
    }
    const images = await originals(bases.map((b) => b.root), codec);
    const byKind = ['segment', 'tier1', 'chunk', 'snapshot'].map((k) => images.filter((o) => o.kind === k));
    for (const [i, k] of ['segment', 'tier1', 'chunk', 'snapshot'].entries()) tally.figures[`baseFiles.${k}`] = byKind[i]!.length;
    const rand = seededRandom(ctx.seed);
    const started = Date.now();
    // The unsealed segment of a writer killed with SIGKILL: a small share of the time.
    const killed = join(scratch, 'base-killed');
    mkdirSync(killed);
    await killedWriter(tally, killed);
    const unsealedTarget = ctx.quick ? QUICK_UNSEALED_CASES : 1;
    const unsealedDeadline = started + (ctx.deadline - started) * FULL_UNSEALED_SHARE;
    let unsealedCases = 0;
    while ((unsealedCases < unsealedTarget || (!ctx.quick && Date.now() < unsealedDeadline)) && tally.failureCount === 0) {
      await unsealedCase(tally, killed, scratch, rand, unsealedCases);
      unsealedCases++;
      if (ctx.quick && unsealedCases >= unsealedTarget) break;
    }
    tally.figures['cases.unsealed'] = unsealedCases;
    // Whole-root cases take a share of the time; in-memory cases fill the rest.
    const rootDeadline = started + (ctx.deadline - started) * 0.45;
    let rootCases = 0;
    while (Date.now() < rootDeadline && !(ctx.quick && rootCases >= rootTarget) && tally.failureCount === 0) {
      await rootCase(tally, bases[rootCases % 2]!, scratch, rand, rootCases);
      rootCases++;
      if (rootCases % 50 === 0) ctx.log(`corrupt-fuzz: ${rootCases} whole-root cases`);
    }
    let memoryCases = 0;
    const memoryTarget = Math.max(0, target - rootCases);
    while (Date.now() < ctx.deadline && !(ctx.quick && memoryCases >= memoryTarget) && tally.failureCount === 0) {
      const kind = byKind[memoryCases % 4]!;
      await memoryCase(tally, kind[int(rand, kind.length)]!, rand, codec, memoryCases);
      memoryCases++;
      if (memoryCases % 20_000 === 0) ctx.log(`corrupt-fuzz: ${memoryCases} in-memory cases`);
    }
    tally.rounds = unsealedCases + rootCases + memoryCases;
    tally.figures['cases.wholeRoot'] = rootCases;
    tally.figures['cases.inMemory'] = memoryCases;
    return tally.report(
      `>= ${target} cases, >= ${rootTarget} whole-root, >= ${unsealedTarget} unsealed after kill -9`,
      tally.rounds >= target && rootCases >= rootTarget && unsealedCases >= unsealedTarget,
    );
  } catch (err) {
    tally.fail(`setup: ${describeError(err)}`);
    return tally.report(`>= ${target} cases`, false);
  } finally {
    cleanup();
  }
}

export const corruptFuzz: Scenario = {
  name: 'corrupt-fuzz',
  description: 'seeded damage to segment, Tier 1, manifest chunk and snapshot files, decoded in memory and reopened as whole roots, and to the unsealed segment of a writer killed with SIGKILL',
  share: 0.2,
  run,
};
