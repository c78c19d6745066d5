/**
 * Follower presence: how a writer learns that a read-only process follows one of its streams, so
 * that its flush worker writes each append at once instead of after its write delay.
 *
 * At default options a record reaches its segment file up to `tier0.writeDelayMs` (25 ms) after
 * its append: the delay lets the appends of a low rate share one write (issue 12: a pass per
 * append costs the writer CPU). Nothing in the process reads the files before they are sealed,
 * except a read-only manager in another process, for which that delay is nearly all of its
 * latency. So a read-only manager announces itself, and while one does the writer's delay is
 * `tier0.followedWriteDelayMs` (default 0) instead.
 *
 * The channel is a Linux abstract unix socket named after the root's real path: no file in the
 * root, nothing written by the reader, nothing left behind by a `kill -9` (the kernel drops the
 * name and the connections with the process). The writer listens; a read-only manager connects
 * when a reader first waits at a stream's tail, sends nothing, and holds the connection until it
 * closes (it connects again, at most once per refresh interval, after a writer restart). The writer
 * counts connections. Elsewhere (another platform; a reader in another network namespace, such as
 * another container sharing the volume) there is no channel, and followers pay the write delay.
 * Any local process may connect: the cost is the writer's prompt writes, nothing else (the
 * writer reads nothing from the socket; a byte sent ends the connection).
 */
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Connections a writer counts at most: past it, more followers change nothing, so they are refused. */
const MAX_FOLLOWERS = 256;

/** The abstract socket name for a root (its real path), or null where there are none. */
export function presenceAddress(root: string): string | null {
  if (process.platform !== 'linux') return null;
  return `\0aof2-followers-${createHash('sha256').update(root).digest('hex').slice(0, 32)}`;
}

/** The writer's end: counts the read-only managers that announced themselves. */
export class PresenceListener {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server, onCount: (followers: number) => void) {
    this.#server = server;
    // A failed accept (EMFILE when the process is out of file descriptors) costs a follower its
    // announcement, never the writer: a server 'error' without a listener would throw.
    server.on('error', () => undefined);
    server.on('connection', (socket) => {
      socket.unref(); // a follower never keeps the writer's process alive
      this.#sockets.add(socket);
      onCount(this.#sockets.size);
      socket.on('data', () => socket.destroy());
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        this.#sockets.delete(socket);
        onCount(this.#sockets.size);
      });
    });
  }

  /**
   * Listens for `root`'s followers; `onCount` is called with the number connected at each change.
   * Resolves null where there is no channel, or when the name is taken (by anything but a writer
   * of this root, which holds its lock): the listener is then absent, `onRefused` says why, and
   * the root's followers pay the write delay.
   */
  static start(root: string, onCount: (followers: number) => void, onRefused: (err: Error) => void = () => undefined): Promise<PresenceListener | null> {
    const path = presenceAddress(root);
    if (path === null) return Promise.resolve(null);
    const server = createServer();
    server.maxConnections = MAX_FOLLOWERS;
    return new Promise((resolve) => {
      const refused = (err: Error): void => {
        onRefused(err);
        resolve(null);
      };
      server.once('error', refused);
      server.listen({ path }, () => {
        // Listening: a later server error (a failed accept) is not a refusal, and is ignored.
        server.off('error', refused);
        server.unref();
        resolve(new PresenceListener(server, onCount));
      });
    });
  }

  /** Read-only managers connected now. */
  get followers(): number {
    return this.#sockets.size;
  }

  /** Stops listening and drops every connection (their managers connect again to the next writer). */
  close(): void {
    this.#server.close();
    for (const socket of this.#sockets) socket.destroy();
  }
}

/** A read-only manager's end: one connection, held while the manager is open. */
export class PresenceLine {
  readonly #path: string | null;
  readonly #retryMs: number;
  #socket: Socket | null = null;
  #lastAttempt = -Infinity;
  /** announce() was called: keepUp() connects again after the writer went. */
  #wanted = false;
  #closed = false;

  /** @param retryMs the least time between two attempts to connect (a writer not there, or gone) */
  constructor(root: string, retryMs: number) {
    this.#path = presenceAddress(root);
    this.#retryMs = retryMs;
  }

  /** Whether the line is up: the writer counts this manager. */
  get connected(): boolean {
    return this.#socket !== null && this.#socket.readyState === 'open';
  }

  /**
   * Connects, and from now on keeps the line up ({@link keepUp}), unless connected, connecting, or
   * a last attempt was under `retryMs` ago. Never throws.
   */
  announce(): void {
    this.#wanted = true;
    this.keepUp();
  }

  /** Once announced: connects again if the line is down (a writer restarted), as announce() would. */
  keepUp(): void {
    if (!this.#wanted || this.#path === null || this.#closed || this.#socket !== null) return;
    const now = performance.now();
    if (now - this.#lastAttempt < this.#retryMs) return;
    this.#lastAttempt = now;
    const socket = connect({ path: this.#path });
    socket.unref();
    this.#socket = socket;
    socket.on('error', () => undefined); // no writer listening (ECONNREFUSED): the write delay applies
    socket.on('data', () => undefined);
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = null;
    });
  }

  /** Ends the connection. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
    this.#socket = null;
  }
}
