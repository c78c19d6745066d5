/**
 * Tier 1 and Tier 2 benchmark runner: `npm run bench:tiered [-- --quick] [-- --json] [-- --only <suite>[,<suite>]]`
 * (or `node --expose-gc dist/native-codec-bench/run.js ...`).
 *
 *   --quick   short runs for CI (test/integration/bench-tiered-quick.test.ts)
 *   --json    one JSON document on stdout (progress goes to stderr either way)
 *   --only    run only the named suite(s); repeatable or comma-separated
 *
 * Unlike native-free-bench/, these suites load the zstd addon (in the engine's workers, and on
 * this thread for the raw baselines): the loaded addons are listed in the report for the record,
 * not refused. The Tier 2 suites start one moto server for the run (s3.ts), stopped by dispose.
 * Everything else is shared with native-free-bench/ (result shape, histograms, tables), so the two
 * reports read alike.
 *
 * Exit status: 0 when every suite ran and verified its data, 1 otherwise. Missed performance
 * targets are reported, not failed: figures from a shared machine are not a verdict.
 */
import { appendAsyncSuite } from '../native-free-bench/append-async.js';
import { appendBatchSuite } from '../native-free-bench/append-batch.js';
import { appendSyncSuite } from '../native-free-bench/append-sync.js';
import { coldStartSuite } from '../native-free-bench/cold-start.js';
import { durableSuite } from '../native-free-bench/durable.js';
import { DEFAULTS, TIERS_OFF } from '../native-free-bench/fixtures.js';
import { firstTouchSuite } from '../native-free-bench/first-touch.js';
import { httpAuditSuite } from '../native-free-bench/http-audit.js';
import { lowRateSuite } from '../native-free-bench/low-rate.js';
import { manyStreamsSuite } from '../native-free-bench/many-streams.js';
import { runBenchmarks } from '../native-free-bench/runner.js';
import { burst, sustained } from './defaults-ingest.js';
import { coldScan } from './cold-scan.js';
import { followerScan } from './follower-scan.js';
import { disposeDatasets } from './fixtures.js';
import { pointRead } from './point-read.js';
import { disposeS3 } from './s3.js';
import { tieredIngest } from './tiered-ingest.js';
import { tier2ColdRead } from './tier2-cold-read.js';
import { tier2Upload } from './tier2-upload.js';
import { zstdZlib } from './zstd-zlib.js';

/**
 * native-free-bench's append suites, run here once per configuration (tiers off, then defaults) in
 * the same rounds: native-free-bench must load no codec, so their defaults twins live in this
 * runner (docs/decisions.md, "The defaults twins run in native-codec-bench").
 */
const TWINNED = [appendSyncSuite, appendAsyncSuite, appendBatchSuite, durableSuite, manyStreamsSuite, firstTouchSuite, coldStartSuite, lowRateSuite, httpAuditSuite];

process.exitCode = await runBenchmarks({
  tool: 'native-codec-bench',
  tag: 'bench:tiered',
  suites: [
    tieredIngest,
    pointRead,
    coldScan,
    tier2ColdRead,
    tier2Upload,
    // Issue 15: a follower scanning from the bucket against the local cold scan.
    followerScan,
    // Issue #14: the two zstd implementations behind tier1.codec, on the same frames.
    zstdZlib,
    // Issue #12: what users get at default options, against the tiers off in the same run.
    burst,
    sustained,
    ...TWINNED.map((suite) => suite([TIERS_OFF, DEFAULTS])),
  ],
  addonsAllowed: true,
  dispose: async () => {
    disposeDatasets();
    await disposeS3();
  },
});
