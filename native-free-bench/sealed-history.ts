/**
 * Builds a cleanly closed root holding a long sealed history of one stream without writing its
 * records (the recovery suite's flat-open cases: 16 GiB of history written through the engine would
 * take minutes and 16 GiB of disk). The issue that asked for those figures allows sparse files.
 *
 * A template segment is written once by the real engine (the suite's options: 1 KiB records,
 * `segmentBytes` segments, Tier 1 off). Then, for each segment of the history, a file with the
 * template's header and footer rewritten for its base id, around a sparse hole where the records
 * would be, and the SEALED manifest record the engine would have appended for it (through the real
 * ManifestLog). The newest `realTail` segments hold the template's frames, so the tail reads back
 * real records (frame CRCs cover timestamp and payload, never the id, so a copy is valid anywhere).
 *
 * What an open sees is what an engine-written history of the same size shows it: the same file
 * names, sizes, headers and footers, and the same catalog. Only reading the sealed history would
 * tell the difference (a hole reads as zeros: AOF_ERR_CORRUPT), and the suite reads the tail only.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { ManifestRecordType, type SealedRecord } from '../src/format/manifest.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader, encodeFooterInto, encodeHeaderInto, tryDecodeFooter } from '../src/format/segment.js';
import { SEGMENT_FILE_SUFFIX, manifestDir, segmentPath, streamDir } from '../src/format/root-layout.js';
import { ManifestLog } from '../src/manifest/manifest-log.js';
import { appendSyncLoop, tempRoot } from './fixtures.js';

/** SEALED records per manifest append while building (one fsync per batch). */
const RECORDS_PER_APPEND = 1024;

export interface SealedHistory {
  /** Records of the history (the stream's nextId once opened). */
  records: number;
  segments: number;
  /** Records per segment (the template's). */
  perSegment: number;
}

/** Writes one segment's worth (and one record more, so it seals) through the engine; its first file. */
async function templateSegment(options: (root: string) => AofManagerOptions, stream: string, payload: Uint8Array, segmentBytes: number): Promise<Uint8Array> {
  const { root, cleanup } = tempRoot('history-template');
  try {
    const manager = await AofManager.open(options(root));
    const log = await manager.openStream(stream);
    const want = Math.ceil(segmentBytes / payload.length) + 1;
    for (let done = 0; done < want; ) {
      const k = appendSyncLoop(log, payload, want - done);
      done += k;
      if (done < want) {
        await log.append(payload);
        done++;
      }
    }
    await manager.close();
    const dir = streamDir(root, stream);
    const first = readdirSync(dir).filter((f) => f.endsWith(SEGMENT_FILE_SUFFIX)).sort()[0]!;
    return new Uint8Array(readFileSync(join(dir, first)));
  } finally {
    cleanup();
  }
}

function writeAt(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/**
 * Builds `segments` sealed segments of `stream` in the empty root `root` (see the file comment).
 * `options(root)` are the options the suite opens roots with; `payload` the record every segment
 * holds. Returns the history's shape; the root then opens as after a clean close.
 */
export async function buildSealedHistory(
  root: string,
  options: (root: string) => AofManagerOptions,
  stream: string,
  payload: Uint8Array,
  segmentBytes: number,
  segments: number,
  realTail = 1,
): Promise<SealedHistory> {
  const template = await templateSegment(options, stream, payload, segmentBytes);
  const header = decodeHeader(template);
  const footer = tryDecodeFooter(template, template.length - SEGMENT_FOOTER_BYTES);
  if (footer === null) throw new Error('sealed history: the template segment has no footer');
  const data = template.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + footer.dataBytes);
  const dir = streamDir(root, stream);
  mkdirSync(dir, { recursive: true });
  const head = new Uint8Array(SEGMENT_HEADER_BYTES);
  const foot = new Uint8Array(SEGMENT_FOOTER_BYTES);
  const { manifest } = await ManifestLog.open({ dir: manifestDir(root) });
  try {
    let batch: SealedRecord[] = [];
    for (let i = 0; i < segments; i++) {
      const baseId = i * footer.recordCount;
      encodeHeaderInto(head, 0, { ...header, baseId });
      encodeFooterInto(foot, 0, { ...footer, baseId });
      const fd = openSync(segmentPath(dir, baseId), 'w');
      try {
        writeAt(fd, head, 0);
        if (i >= segments - realTail) writeAt(fd, data, SEGMENT_HEADER_BYTES);
        writeAt(fd, foot, SEGMENT_HEADER_BYTES + footer.dataBytes); // past a hole unless the data was written
      } finally {
        closeSync(fd);
      }
      batch.push({
        type: ManifestRecordType.SEALED,
        stream,
        baseId,
        fields: { recordCount: footer.recordCount, dataBytes: footer.dataBytes, dataCrc: footer.dataCrc, maxTimeSec: Math.floor(footer.maxTimestamp / 1000) },
      });
      if (batch.length === RECORDS_PER_APPEND || i === segments - 1) {
        await manifest.append(batch);
        batch = [];
      }
    }
  } finally {
    await manifest.close();
  }
  return { records: segments * footer.recordCount, segments, perSegment: footer.recordCount };
}
