/**
 * Tier 1 as a source for the read path (src/read/ports.ts): a compressed segment's local `.t1`
 * file. Stateless: which segments have a local copy is `seg.tier`, owned by the tiers.
 */
import { AofError } from '../errors.js';
import type { FrameIndexEntry } from '../format/tier1.js';
import type { Segment } from '../tier0/segment.js';
import type { HydrateSource } from '../../workers/tier1-protocol.js';
import { readTier1Meta } from '../format/tier1-file.js';

export const tier1Source = {
  /**
   * The frame index from the file's header and footer (validated: src/format/tier1-file.ts).
   * @throws (rejects) AOF_ERR_CORRUPT, AOF_ERR_IO, AOF_ERR_UNSAFE_PATH
   */
  loadIndex(_stream: string, seg: Segment): Promise<FrameIndexEntry[]> {
    return readTier1Meta(seg.t1Path).then(
      (meta) => meta.index,
      (err: unknown) => {
        throw err instanceof AofError ? err : AofError.io('read tier 1 index', seg.t1Path, err);
      },
    );
  },
  /** One positional read of the local file per frame. */
  frameSource(seg: Segment): HydrateSource {
    return { kind: 'file', path: seg.t1Path };
  },
};
