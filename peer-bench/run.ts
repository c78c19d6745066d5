/**
 * Peer benchmark runner: `npm run bench:peers [-- --quick] [-- --json]`
 * (or `node --expose-gc dist/peer-bench/run.js ...`).
 *
 * aof2 against lmdb-js, hypercore, sonic-boom and a plain fs.createWriteStream (peers.ts), and
 * aof2's live tail against Redis Streams on loopback (redis-streams.ts: it starts its own
 * redis-server, and is skipped, saying how to install it, where there is none). The peers load
 * native addons (lmdb, RocksDB, sodium), so these suites live apart from native-free-bench/, whose
 * suites must load none; the loaded addons are listed for the record.
 * The peers are not aof2 dependencies: peer-bench/package.json lists them (with its own lockfile),
 * and the suite runs `npm ci` in peer-bench/ first when they are missing (install.ts), with npm's
 * output on stderr.
 *
 * Exit status: 0 when every suite ran (or was skipped for a missing program) and every side
 * verified its records, 1 otherwise. Missed targets are reported, not failed.
 */
import { runBenchmarks } from '../native-free-bench/runner.js';
import { peers } from './peers.js';
import { redisStreams } from './redis-streams.js';

process.exitCode = await runBenchmarks({
  tool: 'peer-bench',
  tag: 'bench:peers',
  suites: [peers, redisStreams],
  addonsAllowed: true,
});
