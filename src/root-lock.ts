/**
 * One manager per root: across every thread of a process, across processes, and across processes
 * racing to take over the lock of a crashed one.
 *
 * Node has no flock/fcntl API and we ship no native addon, so the lock is built from the two
 * exclusive file-system primitives Node does have: `link(2)` fails with EEXIST when the name
 * exists, and a directory listing. Layout (docs/formats.md, "Root lock"):
 *
 *   <root>/lock/00000000000000000007     generation entries, 20-digit decimal n; content: one JSON
 *   <root>/lock/00000000000000000008     line, the owner identity and a state, `held` or `free`
 *   <root>/lock/.<pid>-<thread>-<nonce>.tmp   an entry being written (never read as an entry)
 *
 * An entry is written in full to a unique temp file and then `link`ed to its number, so it is never
 * seen half-written and two processes can never both create the same number. The lock is held by
 * the owner of the highest-numbered entry when that entry says `held` and its owner is alive.
 *
 * acquire: list the entries and read the highest, m. None: candidate 0. `free`, or `held` by a dead
 * owner: candidate m + 1. `held` by a live owner (another process, or this process: any thread):
 * AOF_ERR_LOCKED. Link the candidate (EEXIST: someone else took that number; start over). Then list
 * again: an entry above ours, or entry m no longer the one we judged (its nonce), means we lost;
 * unlink ours and start over (we then meet the winner's live entry: AOF_ERR_LOCKED). Otherwise we
 * hold it: remove the entries below ours and the temp files of dead owners.
 * release: link a `free` tombstone at n + 1 (written at acquire, so a full disk cannot stop it),
 * then unlink our entry n.
 *
 * Why at most one holder. Every unlink of an entry e happens after its author saw an entry above e
 * (the winner's re-check, the holder pruning below itself, the releaser after linking its
 * tombstone). So the highest number ever linked always exists: numbers never go back. Say X holds
 * entry c (its re-check saw nothing above c, so no number above c had ever been linked then) and
 * Y later links d > c. Take the first such d: Y chose it as m + 1 from a listing whose highest entry
 * m >= c; any m > c would be an earlier such d, so m = c, and Y read X's own entry (a previous
 * entry c was unlinked only after a higher one existed, which the re-check rules out): `held`, by a
 * live owner, so Y stops with AOF_ERR_LOCKED. A racer delayed between listing and linking (the
 * supervisor case: several restarts of a crashed service) links a number that is then not the
 * highest, or a number taken (EEXIST), and loses at its re-check.
 * The argument needs a listing to show the highest entry. POSIX guarantees that for every entry not
 * created or removed during the listing; on Linux one getdents call runs under the directory's lock,
 * which link and unlink take exclusively, so a listing of this small directory (pruned at every
 * acquire) is a snapshot. Network file systems are not supported (docs/decisions.md).
 *
 * Liveness of an owner. Linux: dead when its boot id differs (the machine rebooted), or
 * /proc/<pid> is gone, or the process there started at another time (field 22 of
 * /proc/<pid>/stat): a pid reused by an unrelated live process never blocks the root. The same pid
 * and start time as ours is this process, any thread: the lock holds across threads because
 * liveness is judged per process, with no per-thread state. Elsewhere: `process.kill(pid, 0)`.
 * An owner on another host (a root on shared storage) cannot be checked: it counts as alive.
 * A manager in a worker thread that is terminated without close() keeps the root locked until the
 * process exits, as an fcntl lock would: Node offers no way to learn from another thread whether a
 * given thread still runs.
 */
import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { kindOf, unsafePath } from './safe-fs.js';
import { AofError, ErrorCode } from './errors.js';
import { LOCK_DIR, TEMP_SUFFIX, isLockEntryName, lockEntryName } from './format/root-layout.js';

/** The lock file of versions before the lock directory: honoured (live pid) or removed (dead). */
export const LEGACY_LOCK_FILE = 'LOCK';
/** Version of the entry content (the `v` field). */
export const LOCK_ENTRY_VERSION = 1;
/**
 * Bound on start-overs. One round loses only to a process that linked first, and the next round
 * then meets its live entry (AOF_ERR_LOCKED); many rounds need other processes to acquire and
 * release over and over meanwhile. 64 rounds of a few syscalls each is well under a millisecond
 * of lost work before the caller hears AOF_ERR_LOCKED instead of spinning.
 */
const MAX_ROUNDS = 64;
/** A temp file this old is an abandoned acquire (a live one links within microseconds). */
const STALE_TEMP_MS = 10 * 60_000;

/** Who holds (or last released) a root. */
export interface LockOwner {
  readonly pid: number;
  /** Linux: start time of the process in clock ticks since boot (field 22 of /proc/<pid>/stat); else null. */
  readonly start: string | null;
  /** Linux: /proc/sys/kernel/random/boot_id; else null. */
  readonly boot: string | null;
  /** `worker_threads.threadId` of the thread that took the lock (0: the main thread). */
  readonly threadId: number;
  readonly host: string;
}

interface LockEntry extends LockOwner {
  readonly v: number;
  readonly state: 'held' | 'free';
  /** Makes every entry's content unique, so a re-read tells the same entry from a successor. */
  readonly nonce: string;
}

type Verdict = { readonly kind: 'free' | 'dead' } | { readonly kind: 'held'; readonly owner: LockOwner; readonly here: boolean; readonly foreign: boolean };

let self: LockOwner | undefined;

/** This process and thread (start time and boot id are per process, so equal in every thread). */
function selfIdentity(): LockOwner {
  self ??= {
    pid: process.pid,
    start: process.platform === 'linux' ? procStart(process.pid) : null,
    boot: process.platform === 'linux' ? bootId() : null,
    threadId,
    host: hostname(),
  };
  return self;
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * Start time of `pid` (Linux), `absent` when there is no such process visible, null when /proc
 * does not tell. Fields are parsed after the last ')' because the command name (field 2) may hold
 * spaces and parentheses; field 3 is the first after it, so field 22 is the 20th.
 */
function procStart(pid: number): string | null | 'absent' {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'absent' : null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const start = fields[19];
  return start !== undefined && /^\d+$/.test(start) ? start : null;
}

/** Signal 0 probes existence; EPERM means it exists but belongs to another user. */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function judge(entry: LockEntry | null): Verdict {
  // Unparsable: an entry is linked only once complete, so this is damage, typically a file whose
  // data a power loss dropped; every owner from before a power loss is dead.
  if (entry === null) return { kind: 'dead' };
  if (entry.state === 'free') return { kind: 'free' };
  const me = selfIdentity();
  const owner: LockOwner = { pid: entry.pid, start: entry.start, boot: entry.boot, threadId: entry.threadId, host: entry.host };
  const held = (here: boolean, foreign = false): Verdict => ({ kind: 'held', owner, here, foreign });
  if (entry.host !== me.host) return held(false, true);
  if (me.boot !== null && entry.boot !== null && entry.boot !== me.boot) return { kind: 'dead' };
  if (entry.pid === me.pid && entry.start === me.start) return held(true);
  if (me.start !== null && entry.start !== null) {
    const start = procStart(entry.pid);
    if (start !== null && start !== 'absent') return start === entry.start ? held(false) : { kind: 'dead' };
    // Absent from a /proc mounted with hidepid, or unreadable: fall back to the pid alone, which
    // may block on a reused pid but never takes a live owner's root.
  }
  return pidExists(entry.pid) ? held(false) : { kind: 'dead' };
}

/** Entry numbers, ascending. */
function listEntries(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw AofError.io('list lock directory', dir, err);
  }
  return names
    .filter((name) => isLockEntryName(name))
    .map(Number)
    .sort((a, b) => a - b);
}

function parseEntry(text: string): LockEntry | null {
  try {
    const e = JSON.parse(text) as Partial<LockEntry>;
    const ok =
      e.v === LOCK_ENTRY_VERSION &&
      (e.state === 'held' || e.state === 'free') &&
      Number.isSafeInteger(e.pid) &&
      (e.pid ?? 0) > 0 &&
      (e.start === null || typeof e.start === 'string') &&
      (e.boot === null || typeof e.boot === 'string') &&
      Number.isSafeInteger(e.threadId) &&
      typeof e.host === 'string' &&
      typeof e.nonce === 'string';
    return ok ? (e as LockEntry) : null;
  } catch {
    return null;
  }
}

/** The entry's text, or null when it is gone (removed between listing and reading). */
function readEntryText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw AofError.io('read lock entry', path, err);
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone (pruned by a holder) or unremovable: either way not ours to fight over
  }
}

/** Writes an entry to a fresh temp file in `dir`; returns its path. */
function writeTemp(dir: string, state: 'held' | 'free'): string {
  const me = selfIdentity();
  const nonce = randomBytes(8).toString('hex');
  const path = join(dir, `.${me.pid}-${threadId}-${nonce}${TEMP_SUFFIX}`);
  const entry: LockEntry = { v: LOCK_ENTRY_VERSION, state, pid: me.pid, start: me.start, boot: me.boot, threadId, host: me.host, nonce };
  try {
    const fd = openSync(path, 'wx', 0o644);
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    unlinkQuiet(path);
    throw AofError.io('write lock entry', path, err);
  }
  return path;
}

/** Links `temp` as entry `n`: true when linked, false when the number is taken. */
function linkEntry(temp: string, dir: string, n: number): boolean {
  const path = join(dir, lockEntryName(n));
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw AofError.io('create lock entry', path, err);
  }
}

/** The version-0 `LOCK` file: a live pid other than ours holds the root; otherwise it is removed. */
function clearLegacyLock(root: string): void {
  const path = join(root, LEGACY_LOCK_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw AofError.io('read legacy lock file', path, err);
  }
  const pid = Number.parseInt(text, 10);
  // This version never writes LOCK, so our own pid in it is a dead process's, reused by us.
  if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && pidExists(pid)) {
    throw new AofError(
      ErrorCode.LOCKED,
      `root ${root} is locked by process ${pid} (the ${LEGACY_LOCK_FILE} file of an older aof2; if no older aof2 runs there, delete it)`,
      { details: { root, owner: pid, threadId: null, host: hostname(), thisProcess: false, legacy: true } },
    );
  }
  unlinkQuiet(path);
}

/** Best effort: the entries below ours and temp files of acquires abandoned long ago. */
function prune(dir: string, below: number, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    const path = join(dir, name);
    if (isLockEntryName(name)) {
      if (Number(name) < below) unlinkQuiet(path);
    } else if (name.endsWith(TEMP_SUFFIX) && path !== keep) {
      try {
        if (now - statSync(path).mtimeMs > STALE_TEMP_MS) unlinkQuiet(path);
      } catch {
        // gone meanwhile
      }
    }
  }
}

function lockedError(root: string, verdict: Verdict & { kind: 'held' }): AofError {
  const { owner } = verdict;
  const who = verdict.here
    ? `this process (pid ${owner.pid}, thread ${owner.threadId}): a manager opened in this process, in this or another thread, is not closed`
    : verdict.foreign
      ? `process ${owner.pid} on host ${owner.host}, which this host cannot check; if that process is gone, delete ${join(root, LOCK_DIR)}`
      : `process ${owner.pid}${owner.threadId === 0 ? '' : ` (thread ${owner.threadId})`}`;
  return new AofError(ErrorCode.LOCKED, `root ${root} is locked by ${who}`, {
    details: { root, owner: owner.pid, threadId: owner.threadId, host: owner.host, thisProcess: verdict.here },
  });
}

/** The lock of one root; release it with {@link RootLock.release}. */
export class RootLock {
  readonly #dir: string;
  readonly #generation: number;
  /** The `free` tombstone written at acquire; linked above our entry at release. */
  readonly #tombstone: string;
  #released = false;

  private constructor(dir: string, generation: number, tombstone: string) {
    this.#dir = dir;
    this.#generation = generation;
    this.#tombstone = tombstone;
  }

  /**
   * Takes the lock of `root` (an existing directory), or throws.
   * @throws AOF_ERR_LOCKED when a live owner holds it: another process, or this process (any
   *   thread, `details.thisProcess`); AOF_ERR_UNSAFE_PATH when `<root>/lock` is a symlink or not a
   *   directory; AOF_ERR_IO on file-system failure
   */
  static acquire(root: string): RootLock {
    const dir = join(root, LOCK_DIR);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw AofError.io('create lock directory', dir, err);
    }
    // A symlink here would put the lock, and our writes, outside the root (issue 10 §4).
    const st = lstatSync(dir);
    if (!st.isDirectory()) throw unsafePath(dir, kindOf(st), 'directory');
    clearLegacyLock(root);
    const held = writeTemp(dir, 'held');
    let tombstone: string | null = null;
    try {
      tombstone = writeTemp(dir, 'free');
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const top = listEntries(dir).at(-1);
        let judgedText: string | null = null;
        if (top !== undefined) {
          judgedText = readEntryText(join(dir, lockEntryName(top)));
          if (judgedText === null) continue; // superseded and pruned meanwhile: list again
          const verdict = judge(parseEntry(judgedText));
          if (verdict.kind === 'held') throw lockedError(root, verdict);
        }
        const candidate = top === undefined ? 0 : top + 1;
        if (!linkEntry(held, dir, candidate)) continue;
        // The re-check: nothing above ours, and the entry we judged is still the one we read.
        const lost = listEntries(dir).some((n) => n > candidate) || (top !== undefined && readEntryText(join(dir, lockEntryName(top))) !== judgedText);
        if (lost) {
          unlinkQuiet(join(dir, lockEntryName(candidate)));
          continue;
        }
        unlinkQuiet(held);
        prune(dir, candidate, tombstone);
        return new RootLock(dir, candidate, tombstone);
      }
      throw new AofError(ErrorCode.LOCKED, `root ${root} is contended: the lock changed hands ${MAX_ROUNDS} times while this open tried to take it`, {
        details: { root, owner: null, threadId: null, host: null, thisProcess: false },
      });
    } catch (err) {
      unlinkQuiet(held);
      if (tombstone !== null) unlinkQuiet(tombstone);
      throw err;
    }
  }

  /**
   * Idempotent and never throws (it runs on close paths). When the tombstone cannot be linked
   * (the root was deleted, or an I/O error), our entry stays: the lock is then released when this
   * process exits, because a dead owner's entry is taken over.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      linkSync(this.#tombstone, join(this.#dir, lockEntryName(this.#generation + 1)));
    } catch (err) {
      // EEXIST cannot happen while we hold (nobody links above a live holder); if it does, an
      // entry above ours exists anyway, so removing ours below keeps the numbers from going back.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        unlinkQuiet(this.#tombstone);
        return;
      }
    }
    unlinkQuiet(this.#tombstone);
    unlinkQuiet(join(this.#dir, lockEntryName(this.#generation)));
  }
}

/**
 * The owner of the highest entry of `root`'s lock when it says `held` (alive or not), else null:
 * for tests and operators ("who has it open?"). Does not take or change the lock.
 * @throws AOF_ERR_IO when the lock directory cannot be listed (a missing one means no lock: null)
 */
export function readLockHolder(root: string): (LockOwner & { readonly generation: number }) | null {
  const dir = join(root, LOCK_DIR);
  let top: number | undefined;
  try {
    top = listEntries(dir).at(-1);
  } catch (err) {
    if (err instanceof AofError && err.details?.['errno'] === 'ENOENT') return null;
    throw err;
  }
  if (top === undefined) return null;
  const text = readEntryText(join(dir, lockEntryName(top)));
  const entry = text === null ? null : parseEntry(text);
  if (entry === null || entry.state !== 'held') return null;
  return { pid: entry.pid, start: entry.start, boot: entry.boot, threadId: entry.threadId, host: entry.host, generation: top };
}
