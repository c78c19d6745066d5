/**
 * Flush worker: the only thread that writes segment files. It keeps one record per open segment
 * (fd, running CRC, counts, timestamps), keyed by the segment's handle in the shared segment table
 * and attached to at most one arena slot at a time, and loops:
 *
 *   1. drain commands (receiveMessageOnPort: this thread never returns to its event loop): open a
 *      segment (create its file, attach it to a slot), resume the last segment a clean close left
 *      open (a parked segment, its footer cut off before its next write), attach a parked segment
 *      to a slot again, seal a parked segment that has no slot;
 *   2. for every attached slot, write the frames published since the last pass (WRITE_LEN), filling
 *      in each frame's CRC first (so the main thread never computes a CRC);
 *   3. seal slots the main thread marked SEALING once fully written (footer, fsync, close, CLEAN),
 *      and detach slots it marked RETIRING once fully written (CLEAN, the segment stays open
 *      and unsealed, though the open-file budget may close its fd: it is parked, not sealed);
 *   4. fsync according to the policy every segment written and not yet synced, attached or not
 *      (group commit: one fdatasync per file covers every frame written to it), publish
 *      T_DURABLE_LEN/T_DURABLE_COUNT in the segment table;
 *   5. bump PROGRESS_EPOCH + notify; only then the bookkeeping nobody waits for: rewrite the
 *      header of each segment just synced (its durable length) and bring each written segment's
 *      running data CRC (the footer's) up to date, so a group commit's waiters are released
 *      without them (docs/architecture.md, "Durability");
 *   6. while the arena is not all faulted in and no work waits: fault in one more chunk of it
 *      (src/arena/prefault.ts), then back to 1;
 *   7. a pass that wrote a little (less than LINGER_MAX_BYTES: a low append rate) lingers: it waits
 *      `writeDelayMs` in the DELAYING state, where appends do not ring, and goes back to 1, so the
 *      appends of that delay share one pass (one pwrite per segment, one wake-up, no futex call on
 *      the main thread) instead of one each; urgent work (commands, seals, parks, flush(), drains,
 *      shutdown) cuts the wait short. Otherwise, or after a pass that wrote nothing, sleep on
 *      WORK_EPOCH (with a timeout for 'interval') until a ring. The bound this gives is in
 *      docs/architecture.md ("The append path").
 *
 * At shutdown (close), after the last pass has written and fsynced everything, every segment still
 * open gets a footer (checkpoint): a clean close without Tier 2 does not seal the streams' tails,
 * and the next open continues each from its footer without a scan (docs/decisions.md, "A clean
 * close leaves the tail open").
 *
 * Open files are bounded (`tier0.maxOpenFiles`): a segment's fd is needed only while this thread
 * writes, fsyncs or seals it, so the fds form a cache. Before a file is created or reopened, fds
 * beyond the budget are closed, least recently used first unless a pass's files exceed the budget
 * (workers/open-file-set.ts says why and what then); a closed segment is reopened (an
 * existing regular file, O_RDWR, never created or truncated) when it is next written, fsynced or
 * sealed. Bytes written through a closed fd and not yet fsynced stay in `unsynced`: the next sync
 * reopens the file and fdatasyncs it, which flushes every dirty page of the file whatever fd wrote
 * it, so DURABLE_LEN still only follows an fdatasync (docs/decisions.md, "A bounded set of open
 * segment files"). Without the bound the fds grow with the number of streams written (one per
 * open segment), and 10,000 streams meet EMFILE.
 *
 * Why a dedicated thread and not a piscina task per flush: a flush is a tiny, latency-critical job
 * (the fsync 'always' path waits on it), and a shared-memory doorbell costs a few microseconds where
 * a task round trip costs tens. See docs/decisions.md.
 */
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { OpenMode, openFileSync } from '../src/safe-fs-sync.js';
import { OpenFileSet } from './open-file-set.js';
import { failpoint } from './failpoints.js';
import { dirname } from 'node:path';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import {
  FLUSHER_FAILED,
  FLUSHER_RUNNING,
  FLUSHER_STOPPED,
  FlusherIdle,
  G_FLUSHER_IDLE,
  G_FLUSHER_STATE,
  G_OPEN_SEGMENT_FILES,
  G_PROGRESS_EPOCH,
  G_SEGMENT_FILE_REOPENS,
  G_SYNC_REQUEST,
  G_FOLLOWED,
  G_WAKE_URGENT,
  G_WORK_EPOCH,
  S_FLUSHED_LEN,
  S_NEXT,
  S_START,
  S_STATE,
  S_WRITE_LEN,
  SegState,
  SlotState,
  T_DURABLE_COUNT,
  T_DURABLE_LEN,
  T_FLUSHED_LEN,
  T_STATE,
  segWord,
  slotDataOffset,
  slotWord,
} from '../src/arena/layout.js';
import { AofError, ErrorCode } from '../src/errors.js';
import { frameLength, readFramePayloadLength, readFrameTimestamp, sealFrameCrc } from '../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, encodeFooterInto, encodeHeaderInto } from '../src/format/segment.js';
import { fsyncHistogramView, recordFsync } from '../src/arena/fsync-histogram.js';
import { prefaultNext } from '../src/arena/prefault.js';
import type { FlushCommand, FlushEvent, FlushWorkerData, ResumedSegmentState } from './protocol.js';

const data = workerData as FlushWorkerData;
const ctrl = new Int32Array(data.sab);
const bytes = new Uint8Array(data.sab);
const view = new DataView(data.sab);
const scratch = new Uint8Array(SEGMENT_FOOTER_BYTES);
const fsyncHistogram = fsyncHistogramView(data.sab);

/** fdatasync, timed into the shared histogram (aof_tier0_fsync_seconds): an fsync costs far more than two clock reads. */
function timedDatasync(fd: number): void {
  failpoint('flush', 'before-fdatasync');
  const t0 = process.hrtime.bigint();
  fdatasyncSync(fd);
  recordFsync(fsyncHistogram, Number(process.hrtime.bigint() - t0));
}

/** What the worker knows about a segment whose file it has open. */
interface OpenSegment {
  handle: number; // entry in the shared segment table
  fd: number; // -1 while closed by the open-file budget (reopened by fdOf)
  path: string;
  baseId: number;
  createdAt: number;
  slot: number; // attached slot, or -1 (parked, detached)
  base: number; // byte offset of the attached slot's data in the SAB (slot byte i = data byte i)
  flushed: number; // bytes written to the file
  flushedCount: number;
  durable: number; // bytes fsynced
  durableCount: number;
  dataCrc: number; // running crc32 of the data region, up to crcTo
  crcTo: number; // data bytes dataCrc covers (catchUpDataCrc brings it up to `flushed`)
  crcDue: boolean; // in dataCrcDue
  minTs: number;
  maxTs: number;
  lastUsePass: number; // stamped by openFiles
  /**
   * Data offset of a footer the file still holds past the data, or -1: a resumed segment keeps the
   * footer of its last close (or of recovery) until the first write past its data cuts it off.
   */
  footerAt: number;
  /** The file was opened by this worker before (a resumed segment's first open is not a reopen). */
  everOpened: boolean;
}

/** Every segment whose file is open, by handle. */
const segments = new Map<number, OpenSegment>();
/** Segments attached to a slot, by slot: the only ones with frames to write. */
const attached = new Map<number, OpenSegment>();
/** Segments with bytes written and not fsynced, attached or not, their fd open or not. */
const unsynced = new Set<OpenSegment>();
/**
 * Segments written since their running data CRC (the footer's) was last brought up to date. It is
 * computed after the pass announced its progress (or before the bytes leave the window: retire,
 * seal), not before the write: a second CRC pass over every byte (1-1.5 µs per KiB on the
 * project's VMs), it sat on the commit's critical path (docs/decisions.md, "Group commit").
 */
const dataCrcDue: OpenSegment[] = [];
/** Segments synced by the current pass whose header still states an older durable length (recordDurableLengths). */
const headersDue: OpenSegment[] = [];
/** Segments whose fd is open, and which to close for another (workers/open-file-set.ts). At most `data.maxOpenFiles`. */
const openFiles = new OpenFileSet<OpenSegment>(data.maxOpenFiles);
// Start from the arena's initial 0, not from the current value: a flush() requested while this
// worker was still starting up has already bumped the word and must not be taken as served.
let lastSyncRequest = 0;
let lastIntervalSync = Date.now();
/** Segments left to fdatasync in the current 'interval' round (0: no round under way), and when it started. */
let intervalSyncLeft = 0;
let intervalRoundStartedAt = 0;
/** performance.now() of the last PROGRESS_EPOCH bump. */
let progressAnnouncedAt = 0;
let running = true;
/** The arena's pages, for the prefault (the worker's slotCount counts pages: a run is named by its first). */
const prefaultGeometry = { pages: data.slotCount, pageBytes: data.pageBytes };
/** Pages of the arena may still be unclaimed (false for good once prefaultNext says so). */
let prefaulting = data.prefault;
/** Bytes written by the current pass (decides whether it lingers). */
let passBytes = 0;
/**
 * WAKE_URGENT when commands were last drained. Every command is posted before its urgent ring
 * (Flusher#send), so an unchanged value means an empty port: the port is not polled on every pass
 * (receiveMessageOnPort cost ~15 µs a call here). NaN: drain on the first pass.
 */
let commandsDrainedAt = Number.NaN;
/**
 * A pass that wrote at least this much is keeping up with a fast writer: the next pass follows at
 * once, as it always did. Below it the append rate is low (under ~10 MB/s at the default 25 ms delay) and
 * the flusher lingers (step 7 above).
 */
const LINGER_MAX_BYTES = 256 * 1024;
/**
 * A pass that freed windows announces progress at least this often (ms), not only at its end: a
 * pass over thousands of streams takes tens of ms, and writers waiting for a window wait on it.
 * The clock is read every PROGRESS_CHECK_EVERY visits (a power of two).
 */
const PROGRESS_EVERY_MS = 1;
const PROGRESS_CHECK_EVERY = 32;
/** Longest time one pass spends in the 'interval' fsync round (see syncIntervalSlice). */
const INTERVAL_SYNC_SLICE_MS = 5;

function post(event: FlushEvent): void {
  data.port.postMessage(event);
}

/** Publishes the number of open segment files (stats(), aof_tier0_open_segment_files). */
function publishOpenFiles(): void {
  Atomics.store(ctrl, G_OPEN_SEGMENT_FILES, openFiles.size);
}

/**
 * Closes fds (least recently used, see OpenFileSet) until one more file fits in the budget. A
 * closed segment keeps its place in `unsynced` if it has bytes not fsynced yet (see the module comment).
 */
function makeRoomForOneFile(): void {
  for (let victim = openFiles.victim(); victim !== null; victim = openFiles.victim()) {
    try {
      closeFile(victim);
    } catch (err) {
      // The fd is released whatever close says; the error is the victim's (its data may be at risk).
      fail(victim, victim.handle, victim.slot, err, 'close segment file');
    }
  }
}

/** Closes `seg`'s fd (it stays an open segment: fdOf reopens it). */
function closeFile(seg: OpenSegment): void {
  const fd = seg.fd;
  openFiles.delete(seg);
  seg.fd = -1;
  publishOpenFiles();
  closeSync(fd);
}

/** `seg`'s fd, reopened if the budget closed it; marks it most recently used. */
function fdOf(seg: OpenSegment): number {
  if (seg.fd >= 0) {
    openFiles.use(seg);
    return seg.fd;
  }
  makeRoomForOneFile();
  // The file this worker created (or recovery handed over: a resumed segment): an existing regular
  // file, opened for writing in place. Never CREATE (a missing file is an error, not a new empty
  // segment) and never through a link.
  seg.fd = openFileSync(seg.path, OpenMode.UPDATE);
  openFiles.use(seg);
  publishOpenFiles();
  if (seg.everOpened) Atomics.add(ctrl, G_SEGMENT_FILE_REOPENS, 1);
  seg.everOpened = true;
  return seg.fd;
}

function openSegment(cmd: Extract<FlushCommand, { type: 'open' }>): void {
  makeRoomForOneFile();
  // A new file, never an existing one: recovery accounted for every file of the stream, so an
  // entry under this name (a planted link above all) is refused, not truncated or written through.
  const fd = openFileSync(cmd.path, OpenMode.CREATE);
  try {
    encodeHeaderInto(scratch, 0, { segmentBytes: data.segmentBytes, baseId: cmd.baseId, createdAt: cmd.createdAt });
    writeSync(fd, scratch, 0, SEGMENT_HEADER_BYTES, 0);
    // The file's directory entry must be durable too, or a power cut could lose a whole segment.
    // This fd is the one beyond the budget (`maxOpenFiles` + 1), for the duration of an fsync.
    const dirFd = openSync(dirname(cmd.path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const seg: OpenSegment = {
    handle: cmd.handle,
    fd,
    path: cmd.path,
    baseId: cmd.baseId,
    createdAt: cmd.createdAt,
    slot: -1,
    base: -1,
    flushed: 0,
    flushedCount: 0,
    durable: 0,
    durableCount: 0,
    dataCrc: 0,
    crcTo: 0,
    crcDue: false,
    minTs: Number.NaN,
    maxTs: Number.NaN,
    lastUsePass: 0,
    footerAt: -1,
    everOpened: true,
  };
  segments.set(cmd.handle, seg);
  openFiles.use(seg);
  publishOpenFiles();
  attach(seg, cmd.slot);
}

/**
 * Takes over the stream's last segment, which the previous session closed with a footer but never
 * recorded as sealed (or which recovery sealed after a crash): a parked segment with no slot, in the
 * state its footer gives (so the running CRC and the counts continue, and nothing is read). Its
 * file stays closed until it is written, fsynced or sealed (fdOf). Everything in it is durable.
 * Nothing is written here: a session that appends nothing leaves the file as it found it.
 */
function resumeSegment(cmd: Extract<FlushCommand, { type: 'resume' }>): void {
  const state: ResumedSegmentState = cmd.state;
  const seg: OpenSegment = {
    handle: cmd.handle,
    fd: -1,
    path: cmd.path,
    baseId: cmd.baseId,
    createdAt: cmd.createdAt,
    slot: -1,
    base: -1,
    flushed: state.dataBytes,
    flushedCount: state.count,
    durable: state.dataBytes,
    durableCount: state.count,
    dataCrc: state.dataCrc,
    crcTo: state.dataBytes,
    crcDue: false,
    minTs: state.minTimestamp,
    maxTs: state.maxTimestamp,
    lastUsePass: 0,
    footerAt: state.dataBytes,
    everOpened: false,
  };
  segments.set(cmd.handle, seg);
}

/**
 * Cuts a resumed segment's footer off before the first write past its data. Until then the file
 * is a sealed file as the last close left it; from here on it is an unsealed one whose data
 * prefix is what the footer described, so a crash at any point leaves either (the next open
 * continues the first, scans the second).
 */
function cutFooter(seg: OpenSegment, fd: number): void {
  ftruncateSync(fd, SEGMENT_HEADER_BYTES + seg.footerAt);
  seg.footerAt = -1;
}

/**
 * Attaches `seg` to `slot`: the slot mirrors the segment, and the main thread has set its WRITE_LEN
 * and FLUSHED_LEN to what this worker wrote (`seg.flushed`) before it made the slot ACTIVE, so
 * writing resumes at `seg.flushed`.
 */
function attach(seg: OpenSegment, slot: number): void {
  seg.slot = slot;
  // A window starts at segment byte START: `base + off` addresses segment byte `off` in it.
  seg.base = slotDataOffset(data.slotCount, data.pageBytes, slot) - Atomics.load(ctrl, slotWord(slot, S_START));
  attached.set(slot, seg);
}

function detach(seg: OpenSegment): void {
  attached.delete(seg.slot);
  seg.slot = -1;
  seg.base = -1;
}

/** Fills in CRCs of the frames in [seg.flushed, end) and writes them. Returns true if it wrote. */
function writePending(seg: OpenSegment): boolean {
  const end = Atomics.load(ctrl, slotWord(seg.slot, S_WRITE_LEN));
  if (end <= seg.flushed) return false;
  let off = seg.flushed;
  let count = seg.flushedCount;
  while (off < end) {
    const at = seg.base + off;
    const len = readFramePayloadLength(view, at);
    const ts = readFrameTimestamp(view, at);
    sealFrameCrc(bytes, view, at, len);
    if (count === 0 || ts < seg.minTs) seg.minTs = ts;
    if (count === 0 || ts > seg.maxTs) seg.maxTs = ts;
    off += frameLength(len);
    count++;
  }
  const chunk = bytes.subarray(seg.base + seg.flushed, seg.base + end);
  const fd = fdOf(seg);
  if (seg.footerAt >= 0) cutFooter(seg, fd);
  let written = 0;
  while (written < chunk.length) {
    written += writeSync(fd, chunk, written, chunk.length - written, SEGMENT_HEADER_BYTES + seg.flushed + written);
  }
  if (!seg.crcDue) {
    seg.crcDue = true;
    dataCrcDue.push(seg);
  }
  passBytes += chunk.length;
  seg.flushed = end;
  seg.flushedCount = count;
  unsynced.add(seg);
  // The segment's length first: a main thread that sees the slot's may rely on the table's.
  Atomics.store(ctrl, segWord(seg.handle, T_FLUSHED_LEN), end);
  Atomics.store(ctrl, slotWord(seg.slot, S_FLUSHED_LEN), end);
  return true;
}

/**
 * Brings the running data CRC up to the bytes written. They are read from the attached window, so
 * this runs before a window is handed back (retire) and before the footer (seal): a segment not
 * attached has its CRC up to date.
 */
function catchUpDataCrc(seg: OpenSegment): void {
  if (seg.crcTo < seg.flushed) {
    seg.dataCrc = crc32(bytes.subarray(seg.base + seg.crcTo, seg.base + seg.flushed), seg.dataCrc);
    seg.crcTo = seg.flushed;
  }
}

/** After the announce: the running CRC of every segment written meanwhile (see dataCrcDue). */
function catchUpDataCrcs(): void {
  for (const seg of dataCrcDue) {
    seg.crcDue = false;
    // Failed or sealed since (skip), or detached (retire caught it up).
    if (seg.slot >= 0 && segments.get(seg.handle) === seg) catchUpDataCrc(seg);
  }
  dataCrcDue.length = 0;
}

function syncSegment(seg: OpenSegment): void {
  unsynced.delete(seg);
  if (seg.durable === seg.flushed) return;
  // A reopened fd covers the bytes written through the one the budget closed: fdatasync flushes
  // the file's dirty pages, not one descriptor's.
  timedDatasync(fdOf(seg));
  seg.durable = seg.flushed;
  seg.durableCount = seg.flushedCount;
  Atomics.store(ctrl, segWord(seg.handle, T_DURABLE_LEN), seg.durable);
  Atomics.store(ctrl, segWord(seg.handle, T_DURABLE_COUNT), seg.durableCount);
  headersDue.push(seg);
}

/**
 * Rewrites the header of every segment synced by this pass (recordDurableLength), after the pass
 * announced its progress: the waiters are released one pwrite sooner. A segment failed or sealed
 * since is skipped (its header no longer matters, or the footer was written).
 */
function recordDurableLengths(): void {
  for (const seg of headersDue) {
    if (segments.get(seg.handle) !== seg) continue;
    try {
      recordDurableLength(seg);
    } catch (err) {
      fail(seg, seg.handle, seg.slot, err, 'record durable length');
    }
  }
  headersDue.length = 0;
}

/**
 * Rewrites the header with the data length just fsynced, so recovery can tell damage below it from
 * a torn tail (docs/formats.md), and the running data CRC with the bytes it covers, so recovery's
 * footer CRC is computed over the bytes past them only. Written after the sync and after the waiters were released: it
 * costs no acknowledgement latency, and the header never claims more than the disk holds. A kill -9
 * keeps it (it is in the page cache); after a power cut the disk holds this value or the previous
 * one, both at most the durable length, so a power cut never makes recovery refuse a file. The
 * next fdatasync carries it to disk at no extra sync.
 */
function recordDurableLength(seg: OpenSegment): void {
  const prefix = seg.crcTo > 0 ? { crcBytes: seg.crcTo, prefixCrc: seg.dataCrc } : undefined;
  encodeHeaderInto(scratch, 0, { segmentBytes: data.segmentBytes, baseId: seg.baseId, createdAt: seg.createdAt, durableBytes: seg.durable, ...(prefix ? { prefix } : {}) });
  writeSync(fdOf(seg), scratch, 0, SEGMENT_HEADER_BYTES, 0);
}

/**
 * Writes the footer of a fully written segment, fsyncs, closes, and marks its table entry SEALED;
 * an attached slot (SEALING) is detached and handed back as CLEAN after that, so a main thread
 * that sees the slot CLEAN also sees the entry SEALED.
 */
function sealSegment(seg: OpenSegment): void {
  catchUpDataCrc(seg);
  writeFooter(seg);
  seg.durable = seg.flushed;
  seg.durableCount = seg.flushedCount;
  closeFile(seg);
  segments.delete(seg.handle);
  unsynced.delete(seg);
  Atomics.store(ctrl, segWord(seg.handle, T_DURABLE_LEN), seg.durable);
  Atomics.store(ctrl, segWord(seg.handle, T_DURABLE_COUNT), seg.durableCount);
  Atomics.store(ctrl, segWord(seg.handle, T_STATE), SegState.SEALED);
  if (seg.slot >= 0) {
    const slot = seg.slot;
    detach(seg);
    Atomics.store(ctrl, slotWord(slot, S_STATE), SlotState.CLEAN);
  }
}

/**
 * Writes the footer after the data written so far and fdatasyncs (even if the data was durable:
 * the footer is new). The running CRC must be up to date (catchUpDataCrc). A resumed segment
 * whose footer is still in place (nothing written since) is rewritten where it is.
 */
function writeFooter(seg: OpenSegment): void {
  const fd = fdOf(seg);
  encodeFooterInto(scratch, 0, {
    recordCount: seg.flushedCount,
    baseId: seg.baseId,
    dataBytes: seg.flushed,
    dataCrc: seg.dataCrc,
    minTimestamp: seg.minTs,
    maxTimestamp: seg.maxTs,
    sealedAt: Date.now(),
  });
  writeSync(fd, scratch, 0, SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES + seg.flushed);
  timedDatasync(fd);
  seg.footerAt = -1;
}

/**
 * Shutdown (close): every segment still open (a stream's tail that the close did not seal, parked
 * or attached) gets a footer, so the next open continues it from the footer instead of scanning it
 * (docs/decisions.md, "A clean close leaves the tail open"). Runs after the last pass, which wrote
 * and fdatasynced every frame and brought the running CRCs up to date: the footer reaches the
 * disk only after the data it describes (a power cut between leaves a file without a footer, which
 * the next open scans). The table entry stays OPEN: the segment was not sealed, and no manifest
 * record names it. A resumed segment nothing was written to still has its footer: left alone.
 */
function checkpointOpenSegments(): void {
  for (const seg of [...segments.values()]) {
    if (seg.footerAt >= 0 || seg.flushedCount === 0) continue;
    try {
      catchUpDataCrc(seg);
      writeFooter(seg);
    } catch (err) {
      fail(seg, seg.handle, seg.slot, err, 'write the footer of an open segment at close');
    }
  }
}

/**
 * A RETIRING slot whose frames are all written is detached and handed back as CLEAN, unless the
 * main thread took it back first (ACTIVE again) or sealed it (SEALING): the exchange decides
 * (race note in layout.ts). The file stays open; fsyncs follow the policy as for any segment.
 */
function retire(seg: OpenSegment): boolean {
  const slot = seg.slot;
  // NEXT is stored before RETIRING (window rollover), and this thread loaded RETIRING already.
  const next = Atomics.load(ctrl, slotWord(slot, S_NEXT)) - 1;
  catchUpDataCrc(seg); // the window's bytes may be reused once it is CLEAN
  if (Atomics.compareExchange(ctrl, slotWord(slot, S_STATE), SlotState.RETIRING, SlotState.CLEAN) !== SlotState.RETIRING) return false;
  detach(seg);
  // Window rollover: the segment continues in the next run, written only now that this one is
  // (START order: the file never gets a hole below written data); visit() goes on with it.
  if (next >= 0) attach(seg, next);
  return true;
}

function fail(seg: OpenSegment | null, handle: number, slot: number, err: unknown, action: string, pathOf = '(unknown)'): void {
  const path = seg?.path ?? pathOf;
  const error = err instanceof AofError ? err : AofError.io(action, path, err);
  if (seg !== null) {
    segments.delete(seg.handle);
    unsynced.delete(seg);
    if (seg.slot >= 0) detach(seg);
    if (seg.fd >= 0) {
      try {
        closeFile(seg);
      } catch {
        // already failing; the first error is the one worth reporting
      }
    }
  }
  if (handle >= 0) Atomics.store(ctrl, segWord(handle, T_STATE), SegState.FAILED);
  if (slot >= 0) Atomics.store(ctrl, slotWord(slot, S_STATE), SlotState.FAILED);
  post({ type: 'failed', slot, error: error.serialize() });
}

/** A command naming a segment this worker does not have open, or in the wrong place: a bug on the main thread. */
function misrouted(cmd: FlushCommand & { handle: number }, why: string): AofError {
  return new AofError(ErrorCode.INTERNAL, `flush worker: ${cmd.type} of segment handle ${cmd.handle}: ${why}`, { details: { command: cmd.type, handle: cmd.handle } });
}

/** Returns true if a command changed a state the main thread waits on (a seal). */
function drainCommands(): boolean {
  let progressed = false;
  for (;;) {
    const msg = receiveMessageOnPort(data.port);
    if (msg === undefined) return progressed;
    const cmd = msg.message as FlushCommand;
    if (cmd.type === 'shutdown') {
      running = false;
    } else if (cmd.type === 'open') {
      try {
        openSegment(cmd);
      } catch (err) {
        fail(null, cmd.handle, cmd.slot, err, 'create segment file', cmd.path);
        progressed = true;
      }
    } else if (cmd.type === 'resume') {
      resumeSegment(cmd);
    } else {
      const seg = segments.get(cmd.handle) ?? null;
      if (seg === null || seg.slot >= 0) {
        fail(seg, cmd.handle, cmd.type === 'attach' ? cmd.slot : -1, misrouted(cmd, seg === null ? 'not open' : `still attached to slot ${seg.slot}`), cmd.type);
        progressed = true;
      } else if (cmd.type === 'attach') {
        attach(seg, cmd.slot);
      } else {
        try {
          sealSegment(seg);
        } catch (err) {
          fail(seg, seg.handle, -1, err, 'seal segment');
        }
        progressed = true;
      }
    }
  }
}

const VISIT_IDLE = 0;
const VISIT_WROTE = 1;
const VISIT_FREED = 2;

/**
 * Writes an attached segment's published frames, seals it if SEALING, and hands RETIRING windows
 * back, following the segment into each next window (START order) until the one being written.
 * So a pass leaves every segment written up to what it published when visited, which a requested
 * sync relies on (drainSync rings once). The chain ends: the writer fills windows slower than
 * this thread writes them (a memcpy and a CRC against a pwrite of the same bytes), and the arena
 * holds finitely many. Returns VISIT_FREED if a window was handed back, else VISIT_WROTE or VISIT_IDLE.
 */
function visit(seg: OpenSegment): number {
  let result = VISIT_IDLE;
  for (;;) {
    // Read STATE before WRITE_LEN: the main thread stores the final WRITE_LEN before SEALING or RETIRING.
    const state = Atomics.load(ctrl, slotWord(seg.slot, S_STATE));
    if (writePending(seg) && result === VISIT_IDLE) result = VISIT_WROTE;
    if (state === SlotState.SEALING) {
      sealSegment(seg);
      return VISIT_FREED;
    }
    if (state !== SlotState.RETIRING || !retire(seg)) return result;
    result = VISIT_FREED;
    if (seg.slot < 0) return result; // parked: no next window
  }
}

function pass(): boolean {
  passBytes = 0;
  openFiles.beginPass();
  let progressed = false;
  const urgent = Atomics.load(ctrl, G_WAKE_URGENT);
  if (urgent !== commandsDrainedAt) {
    commandsDrainedAt = urgent;
    progressed = drainCommands();
  }
  const syncRequest = Atomics.load(ctrl, G_SYNC_REQUEST);
  const syncRequested = syncRequest !== lastSyncRequest;
  const now = Date.now();
  const forceSync = syncRequested || data.fsync === 'always' || !running;
  // Each segment attached when the pass starts is visited once, its chain of windows followed to
  // the one being written (visit()). Successors are attached at the Map's end and not visited again:
  // a pass that walked the Map until no entry was left never ended with thousands of streams
  // writing, and neither did its fsyncs nor its progress announcement (issue 12: 250 ms waits for
  // a window). Deleting the entry being visited (seal, retire) is safe in a Map iteration.
  let visits = attached.size;
  let freed = false;
  for (const seg of attached.values()) {
    if (visits-- === 0) break;
    try {
      const visited = visit(seg);
      if (visited !== VISIT_IDLE) progressed = true;
      if (visited === VISIT_FREED) freed = true;
    } catch (err) {
      fail(seg, seg.handle, seg.slot, err, 'write segment');
      progressed = true;
    }
    if (freed && (visits & (PROGRESS_CHECK_EVERY - 1)) === 0 && performance.now() - progressAnnouncedAt >= PROGRESS_EVERY_MS) {
      announceProgress();
      freed = false;
    }
  }
  if (forceSync) {
    if (unsynced.size > 0) progressed = true;
    syncAll();
    lastSyncRequest = syncRequest;
    if (data.fsync === 'interval') {
      lastIntervalSync = now;
      intervalSyncLeft = 0;
    }
  } else if (data.fsync === 'interval' && (intervalSyncLeft > 0 || now - lastIntervalSync >= data.fsyncIntervalMs)) {
    if (syncIntervalSlice(now)) progressed = true;
  }
  if (progressed || syncRequested) announceProgress();
  // Off the commit's critical path: the waiters are released before this bookkeeping (issue 13).
  // The CRCs first: the headers then record them (recovery CRCs only the bytes past).
  if (dataCrcDue.length > 0) catchUpDataCrcs();
  if (headersDue.length > 0) recordDurableLengths();
  return progressed;
}

/** Bumps PROGRESS_EPOCH and wakes the main thread's waiters: something they wait for may have changed. */
function announceProgress(): void {
  progressAnnouncedAt = performance.now();
  Atomics.add(ctrl, G_PROGRESS_EPOCH, 1);
  Atomics.notify(ctrl, G_PROGRESS_EPOCH);
}

/** fdatasyncs every segment with bytes not yet synced (a requested sync, 'always', shutdown). */
function syncAll(): void {
  for (const seg of unsynced) syncOne(seg);
}

/**
 * One slice of the 'interval' fsync round: the segments unsynced when the round started, oldest
 * written first, for at most INTERVAL_SYNC_SLICE_MS; the round ends (and the interval restarts
 * from its start) when they are done. With thousands of streams a round is thousands of
 * fdatasyncs (~0.2 ms each here): done in one pass, it stopped every window write behind it for
 * seconds. A segment written again keeps its place in the Set (it is synced once per round), and
 * one synced leaves it, so the head of the Set is the round's oldest work. Returns true if it synced.
 */
function syncIntervalSlice(now: number): boolean {
  if (intervalSyncLeft === 0) {
    intervalSyncLeft = unsynced.size;
    intervalRoundStartedAt = now;
  }
  const until = performance.now() + INTERVAL_SYNC_SLICE_MS;
  let synced = false;
  for (const seg of unsynced) {
    if (intervalSyncLeft === 0 || performance.now() >= until) break;
    intervalSyncLeft--;
    syncOne(seg);
    synced = true;
  }
  if (unsynced.size === 0) intervalSyncLeft = 0;
  if (intervalSyncLeft === 0) lastIntervalSync = intervalRoundStartedAt;
  return synced;
}

function syncOne(seg: OpenSegment): void {
  try {
    syncSegment(seg);
  } catch (err) {
    fail(seg, seg.handle, seg.slot, err, 'sync segment');
  }
}

function sleepTimeout(): number {
  if (data.fsync !== 'interval' || unsynced.size === 0) return Number.POSITIVE_INFINITY;
  return Math.max(0, data.fsyncIntervalMs - (Date.now() - lastIntervalSync));
}

/** True when some attached slot has frames published but not yet written, or is waiting to be sealed or retired. */
function hasPendingWork(): boolean {
  for (const seg of attached.values()) {
    if (Atomics.load(ctrl, slotWord(seg.slot, S_WRITE_LEN)) > seg.flushed) return true;
    const state = Atomics.load(ctrl, slotWord(seg.slot, S_STATE));
    if (state === SlotState.SEALING || state === SlotState.RETIRING) return true;
  }
  return false;
}

/**
 * Faults arena chunks in while nothing else is to be done. Returns true when it stopped for work
 * (the caller runs a pass), false when it is finished or has nothing to do. The flusher is BUSY
 * meanwhile, so publishes do not ring: the attached slots' WRITE_LEN (and states) are looked at
 * between chunks instead, and urgent work bumps WORK_EPOCH. A pending interval fsync ends it too.
 * New work waits for at most one arena page (two OS page faults).
 */
function prefaultWhileIdle(seen: number): boolean {
  const syncAt = Date.now() + sleepTimeout();
  while (prefaulting) {
    if (Atomics.load(ctrl, G_WORK_EPOCH) !== seen || hasPendingWork() || Date.now() >= syncAt) return true;
    prefaulting = prefaultNext(ctrl, bytes, prefaultGeometry);
  }
  return false;
}

/**
 * After a pass that wrote a little: waits up to writeDelayMs for more appends without asking the
 * main thread to ring (race note "Write delay" in src/arena/layout.ts), faulting arena chunks in
 * meanwhile if some are left. Urgent rings cut it short.
 */
function linger(urgentSeen: number, delayMs: number): void {
  Atomics.store(ctrl, G_FLUSHER_IDLE, FlusherIdle.DELAYING);
  const epoch = Atomics.load(ctrl, G_WORK_EPOCH);
  const until = performance.now() + Math.min(delayMs, sleepTimeout());
  while (Atomics.load(ctrl, G_WAKE_URGENT) === urgentSeen && running) {
    const left = until - performance.now();
    if (left <= 0) break;
    if (prefaulting) {
      prefaulting = prefaultNext(ctrl, bytes, prefaultGeometry);
    } else {
      Atomics.wait(ctrl, G_WORK_EPOCH, epoch, left);
      break;
    }
  }
  Atomics.store(ctrl, G_FLUSHER_IDLE, FlusherIdle.BUSY);
}

function main(): void {
  Atomics.store(ctrl, G_FLUSHER_STATE, FLUSHER_RUNNING);
  Atomics.notify(ctrl, G_FLUSHER_STATE); // Flusher.ready() waits for it
  while (running) {
    const seen = Atomics.load(ctrl, G_WORK_EPOCH);
    const urgentSeen = Atomics.load(ctrl, G_WAKE_URGENT);
    pass();
    if (!running) break;
    // A read-only process following a stream of this root (src/follower-presence.ts) reads the
    // files: its own delay then (0 by default: each append rings, and is written at once).
    const delayMs = Atomics.load(ctrl, G_FOLLOWED) === 0 ? data.writeDelayMs : data.followedWriteDelayMs;
    if (passBytes > 0 && passBytes < LINGER_MAX_BYTES && delayMs > 0) {
      linger(urgentSeen, delayMs);
      continue;
    }
    if (prefaulting && prefaultWhileIdle(seen)) continue;
    Atomics.store(ctrl, G_FLUSHER_IDLE, FlusherIdle.SLEEPING);
    // Race note: see the doorbell note in src/arena/layout.ts. IDLE is stored before this re-check,
    // so a frame published after it is either seen here or followed by a ring.
    if (!hasPendingWork()) Atomics.wait(ctrl, G_WORK_EPOCH, seen, sleepTimeout());
    Atomics.store(ctrl, G_FLUSHER_IDLE, FlusherIdle.BUSY);
  }
  pass(); // final pass: everything written, synced, sealed slots closed
  checkpointOpenSegments();
  for (const seg of openFiles.entries()) closeFile(seg);
  Atomics.store(ctrl, G_FLUSHER_STATE, FLUSHER_STOPPED);
  Atomics.notify(ctrl, G_FLUSHER_STATE);
  Atomics.add(ctrl, G_PROGRESS_EPOCH, 1);
  Atomics.notify(ctrl, G_PROGRESS_EPOCH);
  post({ type: 'stopped' });
}

try {
  main();
} catch (err) {
  Atomics.store(ctrl, G_FLUSHER_STATE, FLUSHER_FAILED);
  Atomics.notify(ctrl, G_FLUSHER_STATE);
  Atomics.add(ctrl, G_PROGRESS_EPOCH, 1);
  Atomics.notify(ctrl, G_PROGRESS_EPOCH);
  throw err;
}
