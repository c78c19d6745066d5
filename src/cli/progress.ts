/**
 * The ingest progress line of `npm start`: a live cli-progress bar on a terminal, plain periodic
 * lines otherwise (CI logs and pipes get no cursor movement or colour codes).
 */
import cliProgress from 'cli-progress';

export interface IngestSnapshot {
  records: number;
  bytes: number;
  /** Records of this run that are durable (sum over streams). */
  durable: number;
  elapsedMs: number;
}

export interface Progress {
  update(snapshot: IngestSnapshot): void;
  stop(snapshot: IngestSnapshot): void;
}

/** How often the plain (non-TTY) mode prints a line. */
const PLAIN_EVERY_MS = 1000;

/** 1234567 → "1.23M": keeps the live line inside 80 columns. */
export function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n));
}

function fields(s: IngestSnapshot): Record<string, string> {
  const seconds = Math.max(s.elapsedMs, 1) / 1000;
  return {
    recs: compact(s.records),
    mb: (s.bytes / 1e6).toFixed(0),
    rps: compact(s.records / seconds),
    mbps: (s.bytes / 1e6 / seconds).toFixed(0),
    durable: compact(s.durable),
  };
}

/** Picks the bar on a TTY, plain lines elsewhere. */
export function createProgress(total: number, stream: NodeJS.WriteStream): Progress {
  return stream.isTTY === true ? new BarProgress(total, stream) : new PlainProgress(total, stream);
}

class BarProgress implements Progress {
  readonly #bar: cliProgress.SingleBar;

  constructor(total: number, stream: NodeJS.WriteStream) {
    this.#bar = new cliProgress.SingleBar({
      stream,
      format: 'ingest   {bar} {percentage}% {recs} rec  {mb} MB  {rps} rec/s  {mbps} MB/s  durable {durable}',
      barCompleteChar: '█',
      barIncompleteChar: '░',
      barsize: 16,
      hideCursor: true,
      fps: 10,
      // The bar only redraws from update() (the ingest loop yields often enough); no own timers
      // would fire anyway while the loop runs.
      etaAsynchronousUpdate: false,
    });
    this.#bar.start(total, 0, fields({ records: 0, bytes: 0, durable: 0, elapsedMs: 1 }));
  }

  update(s: IngestSnapshot): void {
    this.#bar.update(s.records, fields(s));
  }

  stop(s: IngestSnapshot): void {
    this.#bar.update(s.records, fields(s));
    this.#bar.stop();
  }
}

class PlainProgress implements Progress {
  readonly #total: number;
  readonly #stream: NodeJS.WriteStream;
  #lastPrint = 0;

  constructor(total: number, stream: NodeJS.WriteStream) {
    this.#total = total;
    this.#stream = stream;
  }

  update(s: IngestSnapshot): void {
    if (s.elapsedMs - this.#lastPrint < PLAIN_EVERY_MS) return;
    this.#lastPrint = s.elapsedMs;
    this.#print(s);
  }

  stop(s: IngestSnapshot): void {
    // The summary line that follows carries the final figures; repeat them only if nothing printed.
    if (this.#lastPrint === 0) this.#print(s);
  }

  #print(s: IngestSnapshot): void {
    const f = fields(s);
    const pct = this.#total === 0 ? 100 : Math.floor((100 * s.records) / this.#total);
    this.#stream.write(`ingest   ${String(pct).padStart(3)}% ${f.recs} rec  ${f.mb} MB  ${f.rps} rec/s  ${f.mbps} MB/s  durable ${f.durable}\n`);
  }
}
