import { ManifestRecordType, type SealedRecord } from '../format/manifest.js';
import type { Segment } from '../tier0/segment.js';

/** The SEALED record of a segment whose raw file is sealed and durable. */
export function sealedRecord(stream: string, seg: Segment): SealedRecord {
  return {
    type: ManifestRecordType.SEALED,
    stream,
    baseId: seg.baseId,
    fields: { recordCount: seg.count, dataBytes: seg.dataBytes, dataCrc: seg.dataCrc, maxTimeSec: Math.max(0, Math.floor(seg.maxTimestamp / 1000)) },
  };
}
