/**
 * Wakes everything that waits: async appenders blocked on admission, `append()` under fsync
 * 'always' waiting for durability, `flush()`, and async readers waiting for hydration.
 *
 * Every waiter is a loop "try the sync path; if it would block, `await nextChange()`". There is one
 * shared promise per change, resolved when the flush worker bumps PROGRESS_EPOCH (observed with
 * `Atomics.waitAsync`) or when the main thread itself changes something (`kick()`: a hydration
 * finished, a reader unpinned a slot). A pending `Atomics.waitAsync` does not keep Node alive, so
 * while anyone waits a ref'd timer is held; it doubles as a safety net that re-checks periodically.
 */
import { G_PROGRESS_EPOCH } from '../arena/layout.js';

/** Re-check interval while waiters exist: bounds the cost of a lost wake-up. */
const SAFETY_NET_MS = 100;

export class Coordinator {
  readonly #ctrl: Int32Array;
  #pending: Promise<void> | null = null;
  #resolve: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Epoch the outstanding waitAsync watches, and whether one is outstanding. */
  #armedEpoch = 0;
  #waitOutstanding = false;
  #waitGeneration = 0;
  readonly #fire = (): void => this.#wake();

  constructor(ctrl: Int32Array) {
    this.#ctrl = ctrl;
  }

  /** Resolves at the next change of shared or local state. Never rejects. */
  nextChange(): Promise<void> {
    if (this.#pending === null) {
      this.#pending = new Promise<void>((resolve) => {
        this.#resolve = resolve;
      });
      this.#arm();
    }
    return this.#pending;
  }

  /** Something changed on the main thread: wake every waiter so it retries. */
  kick(): void {
    if (this.#pending !== null) queueMicrotask(this.#fire);
  }

  #arm(): void {
    const epoch = Atomics.load(this.#ctrl, G_PROGRESS_EPOCH);
    if (!this.#waitOutstanding || epoch !== this.#armedEpoch) {
      // At most one waitAsync per epoch value is outstanding; it ends by itself (change or timeout),
      // so kicks that wake waiters early never pile up watchers.
      this.#armedEpoch = epoch;
      const result = Atomics.waitAsync(this.#ctrl, G_PROGRESS_EPOCH, epoch, SAFETY_NET_MS * 10);
      if (result.async) {
        const generation = ++this.#waitGeneration;
        this.#waitOutstanding = true;
        void result.value.then(() => {
          if (generation === this.#waitGeneration) this.#waitOutstanding = false;
          this.#wake();
        });
      } else {
        queueMicrotask(this.#fire);
      }
    }
    this.#timer = setTimeout(this.#fire, SAFETY_NET_MS);
  }

  #wake(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const resolve = this.#resolve;
    this.#pending = null;
    this.#resolve = null;
    resolve?.();
  }

  /** Releases the timer (manager close). Pending waiters are woken one last time. */
  close(): void {
    this.#wake();
  }
}
