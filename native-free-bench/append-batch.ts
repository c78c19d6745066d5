/**
 * append-batch: `log.appendBatchSync()` against `log.appendSync()` on the same stream, per record,
 * in the same run (100 B records, calls of 50 and of 1,000 records; fsync 'never'). The machinery is
 * append-async's (sameStreamCase): both sides append BATCH records per timed batch, each round from
 * an idle flusher, interleaved, verified after. The batch side makes BATCH / size calls of `size`
 * records each; a WouldBlock is waited out with `await appendBatch()` (counted in the note if any).
 *
 * Target (issue #13): per record, at least 0.95x of appendSync at 100 B. A batch writes the same
 * frames with one capacity check and one publish, so it should come out above 1x.
 */
import { WouldBlockError, type AofLog } from '../src/index.js';
import { BATCH, sameStreamCase, type SubjectSide } from './append-async.js';
import { TIERS_OFF, type TierVariant } from './fixtures.js';
import { nowNs, pairTwins, type BatchMeter, type BenchResult, type Suite, type SuiteOptions } from './shared.js';

const SIZE = 100;
const TARGET = 0.95;
/** Records per call; each divides BATCH, so a timed batch is whole calls. */
const BATCH_SIZES = [50, BATCH];

function batchSide(records: number): SubjectSide {
  return {
    suite: 'append-batch',
    name: `appendBatchSync x${records}`,
    note: `appendBatchSync of ${records} records per call, ${BATCH / records} calls per timed batch`,
    runBatch: (log, payload, meter) => batchOf(log, payload, records, meter),
  };
}

/** BATCH records in calls of `records` (the same payload object each time: the engine copies). */
async function batchOf(log: AofLog, payload: Uint8Array, records: number, meter: BatchMeter): Promise<number> {
  const payloads = Array.from({ length: records }, () => payload);
  const t0 = nowNs();
  for (let done = 0; done < BATCH; done += records) {
    try {
      log.appendBatchSync(payloads);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      await log.appendBatch(payloads);
    }
  }
  const ns = nowNs() - t0;
  meter.batch(ns, BATCH);
  return ns;
}

export function appendBatchSuite(variants: readonly TierVariant[]): Suite {
  return {
    name: 'append-batch',
    description: 'appendBatchSync() vs appendSync() on the same stream, per record (100 B; calls of 50 and 1,000 records)',
    async run(options: SuiteOptions): Promise<BenchResult[]> {
      const results: BenchResult[] = [];
      for (const records of BATCH_SIZES) {
        results.push(...(await sameStreamCase(options, variants, batchSide(records), `100 B, x${records}`, SIZE, TARGET)));
      }
      return pairTwins(results);
    },
  };
}

/** native-free-bench's suite: tiers off. */
export const appendBatch: Suite = appendBatchSuite([TIERS_OFF]);
