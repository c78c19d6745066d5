/**
 * Progress of a long admin command (verify): a cli-progress bar on stderr when stderr is a
 * terminal, nothing otherwise, so piped or captured output (scripts, golden tests) holds only
 * the report.
 */
import cliProgress from 'cli-progress';
import { compact } from '../progress.js';

export interface ByteProgress {
  /** Adds `bytes` done, and names the file being worked on. */
  advance(bytes: number, file: string): void;
  stop(): void;
}

const SILENT: ByteProgress = { advance: () => undefined, stop: () => undefined };

export function createByteProgress(label: string, totalBytes: number, stream: NodeJS.WritableStream & { isTTY?: boolean }, enabled: boolean): ByteProgress {
  if (!enabled || stream.isTTY !== true) return SILENT;
  const bar = new cliProgress.SingleBar({
    stream: stream as NodeJS.WriteStream,
    format: `${label} {bar} {percentage}% {done}/{size} B  {file}`,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    barsize: 20,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
  });
  let done = 0;
  bar.start(Math.max(1, totalBytes), 0, { done: '0', size: compact(totalBytes), file: '' });
  return {
    advance(bytes: number, file: string): void {
      done += bytes;
      bar.update(done, { done: compact(done), file });
    },
    stop(): void {
      bar.stop();
    },
  };
}
