/**
 * Wake-ups for a read-only manager: `fs.watch` on a directory the writer changes (the manifest's,
 * a stream's). On Linux that is one inotify watch per directory, which reports files created,
 * renamed and removed in it (`rename`) and writes to them (`change`), so one watch on a stream's
 * directory sees both a new segment file and every write the flush worker makes to the active one,
 * within a millisecond or so, with no polling.
 *
 * A watch is a hint, never the truth: events may be coalesced or lost (an inotify queue overflow),
 * missing on some file systems (NFS, some container mounts), or unavailable (the per-user watch
 * budget, `fs.inotify.max_user_watches`, is spent: ENOSPC). So the manager also refreshes every
 * `readOnly.refreshMs`, and a watch that cannot be set up, or that errors later, is only counted:
 * that directory's changes are then seen at the next interval. Watches are unref'd: a forgotten
 * read-only manager does not keep the process alive.
 */
import { watch, type FSWatcher } from 'node:fs';

/** What a change to a watched directory was: a file created, renamed or removed, or one written. */
export type DirectoryChange = 'rename' | 'change';

export class DirectoryWatch {
  #watcher: FSWatcher | null = null;
  /** The watch could not be set up, or failed later: changes come with the interval only. */
  failed = false;

  /**
   * Starts watching `dir`; `onChange` runs (synchronously, from the event loop) for every event.
   * Never throws: a watch that cannot be had is recorded in {@link failed}.
   */
  constructor(dir: string, onChange: (change: DirectoryChange) => void) {
    try {
      const watcher = watch(dir, { persistent: false }, (event) => onChange(event === 'change' ? 'change' : 'rename'));
      watcher.on('error', () => {
        this.failed = true;
        this.close();
      });
      this.#watcher = watcher;
    } catch {
      this.failed = true;
    }
  }

  /** Whether the watch is running. */
  get active(): boolean {
    return this.#watcher !== null;
  }

  /** Stops watching. Idempotent. */
  close(): void {
    const watcher = this.#watcher;
    this.#watcher = null;
    watcher?.close();
  }
}
