/**
 * The catalog: where every sealed segment of every stream is, rebuilt from the manifest log.
 *
 * Pure in-memory state, `Map<stream, Map<baseId, CatalogEntry>>`, changed only by `apply` with one
 * manifest record at a time. Keeping the transition rules in one small synchronous function is what
 * makes replay and live appends agree: ManifestLog applies exactly the same records, in the same
 * order, whether it reads them back from a chunk or has just made them durable.
 *
 * Transition rules (ManifestRecordType → effect):
 * - SEALED creates or overwrites the entry: state SEALED, the segment's counts and CRC, every
 *   tier field zeroed (a re-seal after recovery starts the lifecycle over).
 * - COMPRESSION_STARTED: no state change (it exists so a crash mid-compression is visible in the log).
 * - COMPRESSION_DONE → TIER1 with compressedBytes and frameCount; drops a recorded frame index
 *   (it described the previous Tier 1 file).
 * - FRAME_INDEX: keeps the record's frames as the entry's `frameIndex` (the read path checks them
 *   against the entry before trusting them: src/format/recorded-index.ts).
 * - COMPRESSION_FAILED → COMPRESSION_FAILED with attempts.
 * - EVICTED / HYDRATED set / clear FLAG_TIER1_EVICTED; UPLOADED sets FLAG_UPLOADED and objectBytes.
 *   HYDRATED also turns an uploaded NEEDS_RECOVERY entry back into TIER1 (a good copy came back).
 * - DELETED removes the entry (a stream with no entries left disappears from `streams()`): a
 *   segment recovery dropped (never acknowledged), not retention.
 * - EXPIRED (retention) removes every entry before the segment and turns the segment's own entry
 *   into a DELETED tombstone: ids below its end are gone, and the tombstone keeps that floor.
 * - NEEDS_RECOVERY → NEEDS_RECOVERY.
 * - SNAPSHOT: nothing (a marker in the log).
 * A record about a segment the catalog does not hold (other than SEALED) is an orphan: counted, not
 * applied. It happens legitimately when a snapshot already reflects a DELETED whose later
 * transitions were still in flight, so it is reported rather than treated as corruption.
 *
 * Entries handed out by `get`/`entries` are copies: the catalog is the only writer of its state.
 * A recorded frame index (`frameIndex`) is shared by the copies, not copied: those bytes are never
 * written after decoding, by anyone.
 */
import { FIELDS, ManifestRecordType, type ManifestRecord } from '../format/manifest.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../format/snapshot.js';

export class Catalog {
  readonly #streams = new Map<string, Map<number, CatalogEntry>>();
  #transitionCount = 0;
  #orphanCount = 0;
  #segmentCount = 0;

  /**
   * Builds a catalog from a decoded snapshot's streams (entries are copied).
   * Streams without entries are skipped.
   */
  static fromSnapshot(streams: ReadonlyMap<string, readonly CatalogEntry[]>): Catalog {
    const catalog = new Catalog();
    for (const [name, entries] of streams) {
      if (entries.length === 0) continue;
      const map = new Map<number, CatalogEntry>();
      for (const e of entries) map.set(e.baseId, { ...e });
      catalog.#streams.set(name, map);
      catalog.#segmentCount += map.size;
    }
    return catalog;
  }

  /** Records applied since this catalog was built (orphans and SNAPSHOT markers excluded). */
  get transitionCount(): number {
    return this.#transitionCount;
  }

  /** Records about segments the catalog did not hold, counted and not applied. */
  get orphanCount(): number {
    return this.#orphanCount;
  }

  /** Entries over all streams. */
  get segmentCount(): number {
    return this.#segmentCount;
  }

  /**
   * Applies one transition. Returns false for an orphan (counted in `orphanCount`, nothing
   * changed) and for a SNAPSHOT marker. The record is assumed valid (decoded, or checked by
   * validateManifestRecord); unknown types are ignored rather than guessed at.
   */
  apply(record: ManifestRecord): boolean {
    if (record.type === ManifestRecordType.SNAPSHOT || !Object.prototype.hasOwnProperty.call(FIELDS, record.type)) return false;
    let stream = this.#streams.get(record.stream);
    if (record.type === ManifestRecordType.SEALED) {
      if (stream === undefined) {
        stream = new Map();
        this.#streams.set(record.stream, stream);
      }
      if (!stream.has(record.baseId)) this.#segmentCount++;
      stream.set(record.baseId, {
        baseId: record.baseId,
        recordCount: record.fields.recordCount,
        dataBytes: record.fields.dataBytes,
        dataCrc: record.fields.dataCrc,
        state: SegmentState.SEALED,
        flags: 0,
        attempts: 0,
        compressedBytes: 0,
        frameCount: 0,
        objectBytes: 0,
        maxTimeSec: record.fields.maxTimeSec,
      });
      this.#transitionCount++;
      return true;
    }
    const entry = stream?.get(record.baseId);
    if (stream === undefined || entry === undefined) {
      this.#orphanCount++;
      return false;
    }
    switch (record.type) {
      case ManifestRecordType.COMPRESSION_STARTED:
        break;
      case ManifestRecordType.COMPRESSION_DONE:
        entry.state = SegmentState.TIER1;
        entry.compressedBytes = record.fields.compressedBytes;
        entry.frameCount = record.fields.frameCount;
        delete entry.frameIndex;
        break;
      case ManifestRecordType.FRAME_INDEX:
        entry.frameIndex = record.frames;
        break;
      case ManifestRecordType.COMPRESSION_FAILED:
        entry.state = SegmentState.COMPRESSION_FAILED;
        entry.attempts = record.fields.attempts;
        break;
      case ManifestRecordType.EVICTED:
        entry.flags |= FLAG_TIER1_EVICTED;
        break;
      case ManifestRecordType.HYDRATED:
        entry.flags &= ~FLAG_TIER1_EVICTED;
        // A damaged local copy replaced by a good one from Tier 2.
        if (entry.state === SegmentState.NEEDS_RECOVERY && (entry.flags & FLAG_UPLOADED) !== 0) entry.state = SegmentState.TIER1;
        break;
      case ManifestRecordType.UPLOADED:
        entry.flags |= FLAG_UPLOADED;
        entry.objectBytes = record.fields.objectBytes;
        break;
      case ManifestRecordType.DELETED:
        stream.delete(record.baseId);
        this.#segmentCount--;
        if (stream.size === 0) this.#streams.delete(record.stream);
        break;
      case ManifestRecordType.NEEDS_RECOVERY:
        entry.state = SegmentState.NEEDS_RECOVERY;
        break;
      case ManifestRecordType.EXPIRED:
        for (const baseId of [...stream.keys()]) {
          if (baseId < record.baseId) {
            stream.delete(baseId);
            this.#segmentCount--;
          }
        }
        entry.state = SegmentState.DELETED;
        entry.flags = 0;
        delete entry.frameIndex;
        break;
      default: {
        // Every type has a rule: a type added to FIELDS without one here does not compile.
        const unhandled: never = record;
        return unhandled;
      }
    }
    this.#transitionCount++;
    return true;
  }

  /** A copy of the entry, or undefined. */
  get(stream: string, baseId: number): CatalogEntry | undefined {
    const entry = this.#streams.get(stream)?.get(baseId);
    return entry === undefined ? undefined : { ...entry };
  }

  /** Copies of a stream's entries in ascending baseId order ([] for an unknown stream). */
  entries(stream: string): CatalogEntry[] {
    const map = this.#streams.get(stream);
    if (map === undefined) return [];
    return [...map.values()].sort((a, b) => a.baseId - b.baseId).map((e) => ({ ...e }));
  }

  /** Names of the streams holding at least one entry, ascending. */
  streams(): string[] {
    return [...this.#streams.keys()].sort();
  }

  /** Every stream's entries (copies, ascending baseId), streams in ascending name order: what encodeSnapshot takes. */
  toSnapshotStreams(): Map<string, CatalogEntry[]> {
    const out = new Map<string, CatalogEntry[]>();
    for (const name of this.streams()) out.set(name, this.entries(name));
    return out;
  }
}
