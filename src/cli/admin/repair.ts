/**
 * `aof2-admin repair <root> [--stream NAME] [--accept-loss]`: the operator's explicit way past an
 * unsealed segment the engine refuses to open because it is damaged (AOF_ERR_CORRUPT; the rule is
 * format/record.ts `inspectFrames`, the same one recovery and verify use).
 *
 * Without `--accept-loss` it is a dry run: it prints, per damaged segment, exactly what repair
 * would do (which file, which byte range and which record ids are dropped, which later files are
 * removed) and changes nothing. With `--accept-loss` it takes the root lock (refusing, exit 3,
 * while an engine holds the root), plans again under the lock and applies exactly that plan:
 *
 * - a damaged data region is cut at the first bad frame, what recovery did silently before
 *   issue 10; the header is rewritten so its durable length matches what is kept. The segment
 *   stays unsealed: the next open scans the now clean prefix and seals it as usual;
 * - a damaged header over valid frames is rewritten from the file name (the base id) — no record
 *   is lost;
 * - files of the stream after the cut segment that the manifest does not record hold ids that no
 *   longer follow on: removed (ids stay dense). A later segment the manifest records cannot be
 *   cut away by this tool: repair refuses (exit 1) and says so.
 *
 * Segments the manifest records as sealed are never touched: their damage is not a torn write
 * and dropping them is not this tool's call (restore the file, or see docs/operations.md).
 */
import { unlink } from 'node:fs/promises';
import { OpenMode, listFiles, openFile, readRegularFile } from '../../safe-fs.js';
import { join } from 'node:path';
import { AofError } from '../../errors.js';
import { fsyncDir } from '../../durable-file.js';
import { describeFrameDamage, findFrame, inspectFrames, scanFrames, type FrameInspection } from '../../format/record.js';
import {
  SEGMENT_FOOTER_BYTES,
  SEGMENT_HEADER_BYTES,
  decodeHeader,
  encodeHeaderInto,
  tryDecodeFooter,
  type SegmentHeader,
} from '../../format/segment.js';
import { SegmentState } from '../../format/snapshot.js';
import type { Catalog } from '../../manifest/catalog.js';
import { RootLock } from '../../root-lock.js';
import { AdminExit, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { readManifest } from './manifest-reader.js';
import { printJson, type Io } from './output.js';
import { errorMessage } from './problem.js';
import { streamNames } from './residency.js';
import { checkRoot } from './check-root.js';
import { parseSegmentFileName, parseTier1FileName, STREAMS_DIR } from '../../format/root-layout.js';

export interface RepairOptions {
  stream?: string;
  acceptLoss?: boolean;
  json?: boolean;
}

/** One later file removed because the cut segment no longer reaches it. */
export interface RemovedFile {
  file: string;
  /** Records it holds (footer or valid prefix; 0 for a Tier 1 file nobody recorded). */
  records: number;
  firstId: number;
}

/** What repair does to one damaged segment of a stream. */
export interface SegmentRepair {
  stream: string;
  /** Path relative to the root. */
  file: string;
  baseId: number;
  /** Why: the damage in words, or the header error. */
  damage: string;
  /** The header is rewritten from the file name (it was damaged, valid frames follow it). */
  rewriteHeader: boolean;
  /** Records kept: ids baseId .. baseId + keptRecords - 1, file bytes [0, keepBytes). */
  keptRecords: number;
  keepBytes: number;
  /** Bytes dropped from keepBytes to the end of the file (0: header repair only). */
  droppedBytes: number;
  /** First id dropped, and how many records (null: at least `minDroppedRecords`, a length field is damaged). */
  firstDroppedId: number;
  droppedRecords: number | null;
  minDroppedRecords: number;
  removed: RemovedFile[];
}

interface Plan {
  repairs: SegmentRepair[];
  /** Why a stream cannot be repaired by this tool. */
  refusals: string[];
}

/** Records a raw file holds by its footer, else its valid prefix. */
function recordsIn(bytes: Uint8Array): number {
  const footer = bytes.length >= SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES ? tryDecodeFooter(bytes, bytes.length - SEGMENT_FOOTER_BYTES) : null;
  if (footer !== null && bytes.length === SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES) return footer.recordCount;
  return scanFrames(bytes, Math.min(SEGMENT_HEADER_BYTES, bytes.length), bytes.length).count;
}

/** The repair of one unsealed raw file the manifest does not record, or null when it needs none. */
function planSegment(stream: string, file: string, baseId: number, bytes: Uint8Array): SegmentRepair | null {
  const footer = bytes.length >= SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES ? tryDecodeFooter(bytes, bytes.length - SEGMENT_FOOTER_BYTES) : null;
  if (footer !== null && bytes.length === SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES) return null; // sealed
  let header: SegmentHeader | null = null;
  let headerError = '';
  try {
    header = decodeHeader(bytes);
  } catch (err) {
    headerError = errorMessage(err);
  }
  const dataLen = Math.max(0, bytes.length - SEGMENT_HEADER_BYTES);
  const data = bytes.subarray(Math.min(SEGMENT_HEADER_BYTES, bytes.length));
  // A bad header over no valid frame is the harmless crash-after-creation file the next open removes.
  if (header === null && findFrame(data, 0, dataLen, 0) < 0) return null;
  const scan: FrameInspection = inspectFrames(data, 0, dataLen, header?.durableBytes ?? 0);
  if (header !== null && scan.damage === null) return null;
  const d = scan.damage;
  return {
    stream,
    file,
    baseId,
    damage: [header === null ? `damaged header (${headerError}) over valid records` : '', d === null ? '' : describeFrameDamage(d, SEGMENT_HEADER_BYTES)].filter((x) => x !== '').join('; '),
    rewriteHeader: header === null,
    keptRecords: scan.count,
    keepBytes: SEGMENT_HEADER_BYTES + (d === null ? dataLen : scan.validBytes),
    droppedBytes: d === null ? 0 : scan.tailBytes,
    firstDroppedId: baseId + scan.count,
    droppedRecords: d === null ? 0 : d.droppedRecords,
    minDroppedRecords: d === null ? 0 : 1 + d.validFramesAfter,
    removed: [],
  };
}

async function planStream(root: string, stream: string, catalog: Catalog, plan: Plan): Promise<void> {
  const dir = join(root, STREAMS_DIR, stream);
  let names: string[];
  try {
    names = (await listFiles(dir, (name) => parseSegmentFileName(name) !== null)).sort();
  } catch (err) {
    if (err instanceof AofError) throw err; // a linked segment entry: refused, never repaired
    return; // no directory: nothing to repair in this stream
  }
  const rel = (name: string): string => `${STREAMS_DIR}/${stream}/${name}`;
  let cut: SegmentRepair | null = null;
  for (const name of names) {
    const rawId = parseSegmentFileName(name);
    const t1Id = parseTier1FileName(name);
    const id = rawId ?? t1Id;
    if (id === null) continue;
    const entry = catalog.get(stream, id);
    const recorded = entry !== undefined && entry.state !== SegmentState.DELETED;
    if (cut !== null && id > cut.baseId) {
      if (recorded) {
        plan.refusals.push(
          `stream ${stream}: segment ${id} after the damaged ${cut.file} is recorded in the manifest; cutting ${cut.file} would leave a gap before it. Restore the damaged file instead (docs/operations.md)`,
        );
        continue;
      }
      const bytes = rawId !== null ? await readRegularFile(join(dir, name)) : null;
      cut.removed.push({ file: rel(name), records: bytes === null ? 0 : recordsIn(bytes), firstId: id });
      continue;
    }
    if (rawId === null || recorded) continue;
    const repair = planSegment(stream, rel(name), rawId, await readRegularFile(join(dir, name)));
    if (repair === null) continue;
    plan.repairs.push(repair);
    // Only a cut ends the stream early; a header-only repair keeps every id.
    if (repair.droppedBytes > 0) cut = repair;
  }
}

async function makePlan(root: string, only: string | null): Promise<Plan> {
  const manifest = await readManifest(root);
  const plan: Plan = { repairs: [], refusals: [] };
  const names = await streamNames(root, manifest.catalog);
  if (only !== null && !names.includes(only)) throw new AdminExit(ExitCode.USAGE, `no stream ${only} in ${root}`);
  for (const name of names) if (only === null || name === only) await planStream(root, name, manifest.catalog, plan);
  return plan;
}

async function apply(root: string, repair: SegmentRepair): Promise<void> {
  const path = join(root, repair.file);
  const fh = await openFile(path, OpenMode.UPDATE);
  try {
    const head = new Uint8Array(SEGMENT_HEADER_BYTES);
    await fh.read(head, 0, SEGMENT_HEADER_BYTES, 0);
    let header: SegmentHeader;
    try {
      header = decodeHeader(head);
    } catch {
      // Rebuilt from what is certain: the base id in the file name. segmentBytes is informational
      // (recovery checks records against the configured size), createdAt is now.
      header = { segmentBytes: new DataView(head.buffer).getUint32(12, true), baseId: repair.baseId, createdAt: Date.now() };
    }
    // The durable length must not exceed what is kept, or the next open would refuse it again.
    const kept = repair.keepBytes - SEGMENT_HEADER_BYTES;
    encodeHeaderInto(head, 0, { segmentBytes: header.segmentBytes, baseId: repair.baseId, createdAt: header.createdAt, durableBytes: Math.min(header.durableBytes ?? 0, kept) });
    await fh.write(head, 0, SEGMENT_HEADER_BYTES, 0);
    await fh.truncate(repair.keepBytes);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  for (const r of repair.removed) await unlink(join(root, r.file));
  await fsyncDir(join(root, STREAMS_DIR, repair.stream));
}

function droppedText(r: SegmentRepair): string {
  if (r.droppedBytes === 0) return 'drops nothing';
  const count = r.droppedRecords;
  // A damaged length field hides how many records the bad stretch held: a lower bound.
  const range = count === null ? `at least ${r.minDroppedRecords} records from id ${r.firstDroppedId}` : `ids ${r.firstDroppedId}..${r.firstDroppedId + count - 1} (${count} records)`;
  return `drops ${range}, file bytes ${r.keepBytes}..${r.keepBytes + r.droppedBytes} (${r.droppedBytes} bytes)`;
}

function repairText(r: SegmentRepair): string {
  const lines = [
    `stream ${r.stream}: ${r.file}`,
    `  damage: ${r.damage}`,
    ...(r.rewriteHeader ? [`  rewrites the header from the file name (base id ${r.baseId})`] : []),
    `  keeps ${r.keptRecords === 0 ? 'no record' : `ids ${r.baseId}..${r.baseId + r.keptRecords - 1} (${r.keptRecords} records)`}, file bytes 0..${r.keepBytes}`,
    `  ${droppedText(r)}`,
    ...r.removed.map((f) => `  removes ${f.file}: ${f.records === 0 ? 'no record' : `ids ${f.firstId}..${f.firstId + f.records - 1} (${f.records} records)`} after the cut`),
  ];
  return lines.join('\n') + '\n';
}

/**
 * Prints (and with `acceptLoss` applies) the repair plan. Resolves to 0 when there is nothing to
 * repair or the repair was applied, 1 for a dry run that found damage or a refusal.
 * @throws AdminExit (exit 4) when `root` is not a root; AOF_ERR_LOCKED (exit 3) with acceptLoss while an engine holds the root
 */
export async function runRepair(root: string, options: RepairOptions, io: Io): Promise<ExitCodeValue> {
  await checkRoot(root);
  const only = options.stream ?? null;
  const accept = options.acceptLoss === true;
  // Plan under the lock when applying, so nothing changes between the plan printed and the one applied.
  const lock = accept ? await RootLock.acquire(root) : null;
  try {
    const plan = await makePlan(root, only);
    const applied = accept && plan.refusals.length === 0 && plan.repairs.length > 0;
    if (applied) for (const r of plan.repairs) await apply(root, r);
    const code = plan.refusals.length > 0 || (!accept && plan.repairs.length > 0) ? ExitCode.CORRUPT : ExitCode.OK;
    if (options.json === true) {
      printJson(io, { applied, repairs: plan.repairs, refusals: plan.refusals });
      return code;
    }
    if (plan.repairs.length === 0 && plan.refusals.length === 0) {
      io.out.write(`nothing to repair: no damaged unsealed segment${only === null ? '' : ` in stream ${only}`}\n`);
      return code;
    }
    for (const r of plan.repairs) io.out.write(repairText(r));
    for (const f of plan.refusals) io.out.write(`refused: ${f}\n`);
    if (plan.refusals.length > 0) io.out.write('nothing changed\n');
    else if (applied) io.out.write(`repaired ${plan.repairs.length} segment(s); the next open seals them\n`);
    else io.out.write('dry run: nothing changed; run again with --accept-loss to apply exactly this\n');
    return code;
  } finally {
    lock?.release();
  }
}
