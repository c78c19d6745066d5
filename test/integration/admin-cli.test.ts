/**
 * `aof2-admin`, run as a real child process on a fixture root built by the real engine
 * (support/admin-fixture.ts): golden output for every offline command, corruption found and
 * located by `verify`, `dump --json` against what the engine itself reports, the root lock
 * honoured, snapshots created and pruned, metrics served over HTTP, exit codes, a manifest and
 * files that disagree about a stream (verify and dump exit 1), and a closed stdout (exit 0).
 *
 * Golden files live in test/fixtures/admin/; `AOF2_UPDATE_GOLDEN=1 npm test` rewrites them.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { crc32 } from 'node:zlib';
import { AofError, AofManager, ErrorCode } from '../../src/index.js';
import { nextFrameOffset } from '../../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader, encodeFooterInto, encodeHeaderInto, tryDecodeFooter } from '../../src/format/segment.js';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { FLAG_UPLOADED, SegmentState } from '../../src/format/snapshot.js';
import { SegmentTier } from '../../src/tier0/segment.js';
import { readTier1Meta } from '../../src/format/tier1-file.js';
import { createByteProgress } from '../../src/cli/admin/progress-bar.js';
import { readLockHolder } from '../../src/root-lock.js';
import { ADMIN_BIN, buildAdminFixture, copyRoot, normaliseRoot, runAdmin, spawnAdmin, type CliRun } from '../../support/admin-fixture.js';
import { FIXTURES_DIR } from '../../support/paths.js';
import { tempRoot } from '../../support/tmp.js';
import { logCore } from '../../src/log.js';
import { MANIFEST_DIR, STREAMS_DIR } from '../../src/format/root-layout.js';

const GOLDEN_DIR = join(FIXTURES_DIR, 'admin');
const UPDATE = process.env['AOF2_UPDATE_GOLDEN'] === '1';

const fixture = tempRoot('aof2-admin-fixture-');
before(async () => {
  await buildAdminFixture(fixture.root);
});
after(() => fixture.cleanup());

/** Flips one bit of the byte at `offset` in `path`. */
function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0x10;
  writeFileSync(path, bytes);
}

function assertCode(r: CliRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

interface JsonProblem {
  file: string;
  offset: number;
  length: number;
  message: string;
}

interface JsonSegment {
  stream: string;
  baseId: number;
  firstId: number;
  lastId: number | null;
  records: number;
  tier: 0 | 1 | 2 | null;
  state: string;
  rawBytes: number;
  compressedBytes: number;
  uploaded: boolean;
  evicted: boolean;
  files: string[];
  inCatalog: boolean;
}

interface JsonDump {
  streams: { name: string; summary: { records: number; firstId: number | null; lastId: number | null }; segments: JsonSegment[] }[];
}

describe('aof2-admin golden output', () => {
  const cases: { name: string; args: (root: string) => string[]; code: number }[] = [
    { name: 'dump', args: (r) => ['dump', r], code: 0 },
    { name: 'dump-json', args: (r) => ['dump', r, '--json'], code: 0 },
    { name: 'segments-list', args: (r) => ['segments', 'list', r], code: 0 },
    { name: 'segments-list-beta', args: (r) => ['segments', 'list', r, '--stream', 'beta'], code: 0 },
    { name: 'manifest-inspect', args: (r) => ['manifest', 'inspect', r], code: 0 },
    { name: 'verify', args: (r) => ['verify', r], code: 0 },
    { name: 'snapshot-list', args: (r) => ['snapshot', 'list', r], code: 0 },
    { name: 'help', args: () => ['--help'], code: 0 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await runAdmin(c.args(fixture.root));
      assertCode(r, c.code, c.name);
      // Piped stdout and stderr: no progress bar, no warnings on a healthy root.
      assert.equal(r.stderr, '', `${c.name} wrote to stderr`);
      const actual = normaliseRoot(r.stdout, fixture.root);
      const file = join(GOLDEN_DIR, `${c.name}.txt`);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, actual);
      }
      assert.ok(existsSync(file), `golden file ${file} is missing: run with AOF2_UPDATE_GOLDEN=1`);
      assert.equal(actual, readFileSync(file, 'utf8'), `${c.name} differs from ${file} (AOF2_UPDATE_GOLDEN=1 rewrites it)`);
    });
  }
});

describe('aof2-admin dump --json', () => {
  test('matches the catalog replayed by the engine and the segments the engine opens', async () => {
    const r = await runAdmin(['dump', fixture.root, '--json']);
    assertCode(r, 0, 'dump --json');
    const dump = JSON.parse(r.stdout) as JsonDump;
    assert.deepEqual(
      dump.streams.map((s) => s.name),
      ['alpha', 'beta', 'delta', 'epsilon', 'gamma'],
    );
    const copy = copyRoot(fixture.root);
    try {
      // 1. The manifest as the engine's own replay rebuilds it (on a copy: open repairs files).
      const { manifest, catalog } = await ManifestLog.open({ dir: join(copy.root, MANIFEST_DIR) });
      await manifest.close();
      for (const s of dump.streams) {
        const recorded = s.segments.filter((seg) => seg.inCatalog);
        const entries = catalog.entries(s.name);
        assert.deepEqual(
          recorded.map((seg) => [seg.baseId, seg.records, seg.rawBytes, seg.uploaded]),
          entries.map((e) => [e.baseId, e.recordCount, e.dataBytes, (e.flags & FLAG_UPLOADED) !== 0]),
          `stream ${s.name}: dump vs catalog`,
        );
        for (const [i, e] of entries.entries()) {
          const seg = recorded[i]!;
          if (e.state === SegmentState.TIER1) assert.equal(seg.compressedBytes, e.compressedBytes, `${s.name}/${e.baseId} compressed bytes`);
        }
      }
      // 2. The engine itself: every stream opened, its segments compared one by one.
      const manager = await AofManager.open({ root: copy.root, tier2: { kind: 'fs', root: `${copy.root}-tier2` } });
      try {
        const tierNumber = { [SegmentTier.RAW]: 0, [SegmentTier.TIER1]: 1, [SegmentTier.TIER2]: 2, [SegmentTier.MISSING]: null };
        for (const s of dump.streams) {
          const log = await manager.openStream(s.name);
          const engine = logCore(log).segments.map((seg) => ({ baseId: seg.baseId, records: seg.count, rawBytes: seg.dataBytes, tier: tierNumber[seg.tier], uploaded: seg.uploaded }));
          assert.deepEqual(
            s.segments.map((seg) => ({ baseId: seg.baseId, records: seg.records, rawBytes: seg.rawBytes, tier: seg.tier })),
            engine.map(({ baseId, records, rawBytes, tier }) => ({ baseId, records, rawBytes, tier })),
            `stream ${s.name}: dump vs engine`,
          );
          for (const [i, seg] of s.segments.entries()) if (seg.uploaded) assert.ok(engine[i]!.uploaded, `${s.name}/${seg.baseId} uploaded`);
          assert.equal(log.firstId, s.summary.firstId ?? 0, `${s.name} first id`);
          assert.equal(log.nextId, (s.summary.lastId ?? -1) + 1, `${s.name} next id`);
          assert.equal(logCore(log).describe().segments, s.segments.length, `${s.name} segment count`);
        }
        assert.equal(manager.stats().streams, dump.streams.length);
      } finally {
        await manager.close();
      }
    } finally {
      copy.cleanup();
    }
  });
});

describe('aof2-admin verify finds corruption', () => {
  test('a flipped byte in a raw segment: exit 1, file and offset of the damaged record', async () => {
    const copy = copyRoot(fixture.root);
    try {
      const file = `${STREAMS_DIR}/alpha/00000000000000000000.seg`;
      const flipped = 5000;
      flipByte(join(copy.root, file), flipped);
      const r = await runAdmin(['verify', copy.root, '--json']);
      assertCode(r, 1, 'verify');
      const report = JSON.parse(r.stdout) as { ok: boolean; problems: JsonProblem[] };
      assert.equal(report.ok, false);
      const hit = report.problems.find((p) => p.file === file && p.offset <= flipped && flipped < p.offset + p.length && /record \d+ fails its CRC/.test(p.message));
      assert.ok(hit, `no problem covering offset ${flipped} of ${file}: ${JSON.stringify(report.problems)}`);
      assert.ok(report.problems.every((p) => p.file === file), 'only the damaged file is reported');

      const text = await runAdmin(['verify', copy.root]);
      assertCode(text, 1, 'verify (text)');
      assert.match(text.stdout, /^CORRUPT: \d+ problem\(s\)$/m);
      assert.ok(text.stdout.includes(`${file} @ ${hit.offset} (+${hit.length}): record`), text.stdout);
    } finally {
      copy.cleanup();
    }
  });

  test('a flipped byte in a Tier 1 frame: exit 1, file and offset of the damaged frame', async () => {
    const copy = copyRoot(fixture.root);
    try {
      const file = `${STREAMS_DIR}/beta/00000000000000000079.t1`;
      const meta = await readTier1Meta(join(copy.root, file));
      const frame = meta.index[2]!;
      const flipped = frame.fileOffset + (frame.compressedBytes >> 1);
      flipByte(join(copy.root, file), flipped);
      const r = await runAdmin(['verify', copy.root, '--json']);
      assertCode(r, 1, 'verify');
      const report = JSON.parse(r.stdout) as { problems: JsonProblem[] };
      assert.deepEqual(
        report.problems.map((p) => [p.file, p.offset, p.length]),
        [[file, frame.fileOffset, frame.compressedBytes]],
        JSON.stringify(report.problems),
      );
      assert.match(report.problems[0]!.message, /^frame 2 \(records \d+\.\.\d+\): /);
    } finally {
      copy.cleanup();
    }
  });

  test('a flipped byte in a Tier 1 header and in a manifest record', async () => {
    const copy = copyRoot(fixture.root);
    try {
      const t1 = `${STREAMS_DIR}/delta/00000000000000000000.t1`;
      flipByte(join(copy.root, t1), 20);
      const chunk = `${MANIFEST_DIR}/00000000000000000003.mlog`;
      flipByte(join(copy.root, chunk), 64 + 20); // inside the first record's body
      const r = await runAdmin(['verify', copy.root, '--json']);
      assertCode(r, 1, 'verify');
      const problems = (JSON.parse(r.stdout) as { problems: JsonProblem[] }).problems;
      assert.ok(problems.some((p) => p.file === t1 && p.offset < 64 && /header CRC mismatch/.test(p.message)), JSON.stringify(problems));
      assert.ok(problems.some((p) => p.file === chunk && p.offset === 64 && /fails its CRC/.test(p.message)), JSON.stringify(problems));

      const inspect = await runAdmin(['manifest', 'inspect', copy.root]);
      assertCode(inspect, 1, 'manifest inspect');
      assert.ok(inspect.stdout.includes(`${chunk} @ 64 `), inspect.stdout);
      assert.match(inspect.stdout, /stored 0x[0-9a-f]{8} recomputed 0x[0-9a-f]{8}/);
    } finally {
      copy.cleanup();
    }
  });
});

describe('aof2-admin verify and dump: manifest and files disagree about a stream', () => {
  /** The first `keep` frames of a sealed segment image, sealed again: a shorter file that is itself valid. */
  function shortened(bytes: Buffer, keep: number): Buffer {
    const footer = tryDecodeFooter(bytes, bytes.length - SEGMENT_FOOTER_BYTES)!;
    let end = SEGMENT_HEADER_BYTES;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < keep; i++) end = nextFrameOffset(view, end);
    const out = Buffer.alloc(end + SEGMENT_FOOTER_BYTES);
    bytes.copy(out, 0, 0, end);
    encodeFooterInto(out, end, { ...footer, recordCount: keep, dataBytes: end - SEGMENT_HEADER_BYTES, dataCrc: crc32(out.subarray(SEGMENT_HEADER_BYTES, end)) });
    return out;
  }

  test('a sealed segment replaced by a shorter valid file: verify and dump exit 1 naming the stream and the missing ids; the engine refuses to read it', async () => {
    const copy = copyRoot(fixture.root);
    try {
      const file = join(copy.root, STREAMS_DIR, 'alpha', '00000000000000000000.seg');
      writeFileSync(file, shortened(readFileSync(file), 50));
      const verify = await runAdmin(['verify', copy.root]);
      assertCode(verify, 1, 'verify');
      assert.doesNotMatch(verify.stdout, /OK: no corruption found/);
      assert.match(verify.stdout, /stream alpha: the manifest records segment 0 as ids 0\.\.78 \(79 records\), its file holds ids 0\.\.49 \(50 records\): acknowledged ids 50\.\.78 are missing/);
      const dump = await runAdmin(['dump', copy.root]);
      assertCode(dump, 1, 'dump');
      assert.match(dump.stderr, /stream alpha: .*acknowledged ids 50\.\.78 are missing/);
      const json = JSON.parse((await runAdmin(['dump', copy.root, '--json'])).stdout) as { problems: JsonProblem[] };
      assert.ok(json.problems.some((p) => /stream alpha/.test(p.message)), JSON.stringify(json.problems));
      // Lazy footers: the stream opens from the catalog; the first read of the segment finds the file short.
      const manager = await AofManager.open({ root: copy.root, tier2: { kind: 'fs', root: `${copy.root}-tier2` } });
      try {
        const log = await manager.openStream('alpha');
        await assert.rejects(log.openReader({ from: 0 }).next(), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CORRUPT && /ids 0\.\.78, .* its footer counts 50 records/.test(err.message));
        assert.equal(manager.stats().recovery.badFooters, 1);
      } finally {
        await manager.close();
      }
    } finally {
      copy.cleanup();
    }
  });

  test('files that continue past the manifest with a gap: verify and dump exit 1 naming the stream and the missing ids', async () => {
    const copy = copyRoot(fixture.root);
    try {
      // A sealed, valid segment starting at id 150, where alpha ends at 99 (its open tail, 79..99).
      const source = readFileSync(join(copy.root, STREAMS_DIR, 'alpha', '00000000000000000079.seg'));
      const stray = Buffer.from(source);
      encodeHeaderInto(stray, 0, { ...decodeHeader(source), baseId: 150 });
      const footer = tryDecodeFooter(source, source.length - SEGMENT_FOOTER_BYTES)!;
      encodeFooterInto(stray, stray.length - SEGMENT_FOOTER_BYTES, { ...footer, baseId: 150 });
      writeFileSync(join(copy.root, STREAMS_DIR, 'alpha', '00000000000000000150.seg'), stray);
      const verify = await runAdmin(['verify', copy.root]);
      assertCode(verify, 1, 'verify');
      assert.match(verify.stdout, /stream alpha: segment 150 starts at id 150 but the segment before it ends at id 99: ids 100\.\.149 are missing/);
      const dump = await runAdmin(['dump', copy.root]);
      assertCode(dump, 1, 'dump');
      assert.match(dump.stderr, /ids 100\.\.149 are missing/);
    } finally {
      copy.cleanup();
    }
  });
});

describe('aof2-admin and a closed stdout (| head -1)', () => {
  test('every command that prints ends with exit 0 when the reader has closed the pipe', async () => {
    const root = fixture.root;
    for (const args of [['dump', root], ['dump', root, '--json'], ['segments', 'list', root], ['manifest', 'inspect', root], ['verify', root], ['snapshot', 'list', root], ['repair', root], ['--help']]) {
      // The read end is closed before the child writes a byte: its first write gets EPIPE.
      const child = spawnAdmin(args);
      child.stdout!.destroy();
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const [code] = (await once(child, 'close')) as [number | null];
      clearTimeout(timer);
      assert.equal(code, 0, `aof2-admin ${args.join(' ')} exited ${code}: ${stderr}`);
      assert.equal(stderr, '', `aof2-admin ${args.join(' ')} wrote to stderr`);
    }
  });

  test('aof2-admin dump | head -1 in a shell with pipefail exits 0', async () => {
    const child = spawn('bash', ['-c', 'set -o pipefail; "$0" "$1" dump "$2" | head -1', process.execPath, ADMIN_BIN, fixture.root], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(timer);
    assert.equal(code, 0);
    assert.match(stdout, /^manifest: /);
  });
});

describe('aof2-admin manifest inspect', () => {
  test('bytes past the committed length are reported as uncommitted, not as corruption', async () => {
    const copy = copyRoot(fixture.root);
    try {
      const chunk = join(copy.root, MANIFEST_DIR, '00000000000000000004.mlog');
      // A torn batch: written after the committed end, never named by the header.
      writeFileSync(chunk, Buffer.concat([readFileSync(chunk), Buffer.alloc(40, 0xab)]));
      const r = await runAdmin(['manifest', 'inspect', copy.root, '--json']);
      assertCode(r, 0, 'manifest inspect');
      const report = JSON.parse(r.stdout) as {
        chunks: { seq: number; uncommittedBytes: number; storedCrc: number; recomputedCrc: number; records: number; recordsByType: Record<string, number> }[];
        problems: JsonProblem[];
      };
      assert.deepEqual(report.problems, []);
      const c4 = report.chunks.find((c) => c.seq === 4)!;
      assert.equal(c4.uncommittedBytes, 40);
      assert.equal(c4.storedCrc, c4.recomputedCrc);
      assert.equal(c4.records, Object.values(c4.recordsByType).reduce((a, b) => a + b, 0));
      assert.ok(report.chunks.filter((c) => c.seq !== 4).every((c) => c.uncommittedBytes === 0));
    } finally {
      copy.cleanup();
    }
  });
});

describe('aof2-admin and the root lock', () => {
  test('snapshot create/prune and serve-metrics refuse (exit 3) while an engine holds the root; offline commands still run', async () => {
    const copy = copyRoot(fixture.root);
    const manager = await AofManager.open({ root: copy.root, tier2: { kind: 'none' } });
    try {
      const before = readdirSync(join(copy.root, MANIFEST_DIR)).sort();
      for (const args of [
        ['snapshot', 'create', copy.root],
        ['snapshot', 'prune', copy.root],
        ['serve-metrics', copy.root, '--port', '0'],
      ]) {
        const r = await runAdmin(args);
        assertCode(r, 3, args.join(' '));
        assert.equal(r.stdout, '');
        assert.match(r.stderr, new RegExp(`root .* is locked by process ${process.pid}: stop the process`));
      }
      assert.deepEqual(readdirSync(join(copy.root, MANIFEST_DIR)).sort(), before, 'a refused command changed nothing');
      assertCode(await runAdmin(['dump', copy.root]), 0, 'dump beside a live engine');
      assertCode(await runAdmin(['verify', copy.root]), 0, 'verify beside a live engine');
    } finally {
      await manager.close();
      copy.cleanup();
    }
  });
});

describe('aof2-admin snapshot create and prune', () => {
  test('create writes a snapshot replay starts from; prune keeps the newest and the catalog is unchanged', async () => {
    const copy = copyRoot(fixture.root);
    try {
      const streamsOf = (out: string): string => out.slice(out.indexOf('\nstream '));
      const original = await runAdmin(['dump', copy.root]);
      for (let i = 0; i < 2; i++) {
        const r = await runAdmin(['snapshot', 'create', copy.root]);
        assertCode(r, 0, 'snapshot create');
        // The manifest records the sealed segments: not the open tails alpha and beta were closed
        // with (no Tier 2), nor epsilon's unsealed one.
        assert.match(r.stdout, /^snapshot \d+ written: manifest\/\d{20}\.snap, 4 stream\(s\), 7 segment\(s\)/);
      }
      assert.equal(readLockHolder(copy.root), null, 'the lock is released');
      const listed = JSON.parse((await runAdmin(['snapshot', 'list', copy.root, '--json'])).stdout) as { snapshots: { seq: number; ok: boolean }[]; replayFrom: number };
      // The manifest log itself keeps two snapshots when it writes one.
      assert.deepEqual(listed.snapshots.map((s) => s.seq), [2, 3]);
      assert.equal(listed.replayFrom, 3);

      const pruned = await runAdmin(['snapshot', 'prune', copy.root, '--keep', '1', '--json']);
      assertCode(pruned, 0, 'snapshot prune');
      const outcome = JSON.parse(pruned.stdout) as { kept: number[]; removedSnapshots: string[]; removedChunks: string[] };
      assert.deepEqual(outcome.kept, [3]);
      assert.deepEqual(outcome.removedSnapshots, [`${MANIFEST_DIR}/00000000000000000002.snap`]);
      assert.ok(outcome.removedChunks.length > 0, 'chunks covered by the kept snapshot are removed');
      for (const f of [...outcome.removedSnapshots, ...outcome.removedChunks]) assert.equal(existsSync(join(copy.root, f)), false, f);

      const afterDump = await runAdmin(['dump', copy.root]);
      assertCode(afterDump, 0, 'dump after prune');
      // create and prune touch the manifest only: every stream reads exactly as before.
      assert.equal(streamsOf(afterDump.stdout), streamsOf(original.stdout));
      assertCode(await runAdmin(['verify', copy.root]), 0, 'verify after prune');
      const { manifest, catalog } = await ManifestLog.open({ dir: join(copy.root, MANIFEST_DIR) });
      await manifest.close();
      assert.deepEqual(catalog.streams(), ['alpha', 'beta', 'delta', 'gamma']);

      const again = await runAdmin(['snapshot', 'prune', copy.root]);
      assertCode(again, 0, 'prune again');
      assert.match(again.stdout, /removed 0 snapshot\(s\) and 0 chunk\(s\)/);
    } finally {
      copy.cleanup();
    }
  });
});

describe('aof2-admin serve-metrics', () => {
  test('serves the registry over HTTP on 127.0.0.1 and stops cleanly on SIGTERM', async () => {
    const copy = copyRoot(fixture.root);
    // The root is opened as its application opens it: with the fixture's Tier 2 (a local
    // directory, named: without a tier2 option there is none).
    const configDir = tempRoot('aof2-admin-config-');
    const config = join(configDir.root, 'options.json');
    writeFileSync(config, JSON.stringify({ tier2: { kind: 'fs', root: `${copy.root}-tier2` } }));
    const child = spawnAdmin(['serve-metrics', copy.root, '--port', '0', '--open-streams', '--json', '--config', config]);
    try {
      let stdout = '';
      child.stdout!.setEncoding('utf8');
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const started = await new Promise<{ url: string; host: string; streams: string[] }>((resolve, reject) => {
        const onData = (s: string): void => {
          stdout += s;
          const end = stdout.indexOf('\n}\n');
          if (end >= 0) {
            child.stdout!.off('data', onData);
            resolve(JSON.parse(stdout.slice(0, end + 2)) as { url: string; host: string; streams: string[] });
          }
        };
        child.stdout!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`serve-metrics exited ${code}: ${stderr}`)));
      });
      assert.equal(started.host, '127.0.0.1');
      assert.deepEqual(started.streams, ['alpha', 'beta', 'delta', 'epsilon', 'gamma']);
      assert.match(started.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(started.url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const body = await res.text();
      assert.match(body, /^aof_manifest_replay_chunk_lag_seconds /m);
      assert.match(body, /^# TYPE aof_tier2_breaker_state gauge$/m);
      const missing = await fetch(started.url.replace('/metrics', '/other'));
      assert.equal(missing.status, 404);
      await missing.text();
      assert.equal(readLockHolder(copy.root)?.pid, child.pid, 'the engine holds the root while serving');
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, stderr);
      assert.equal(readLockHolder(copy.root), null, 'the lock is released on stop');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      copy.cleanup();
      configDir.cleanup();
    }
  });
});

describe('aof2-admin exit codes', () => {
  test('usage errors exit 2 with a message on stderr', async () => {
    const root = fixture.root;
    for (const args of [
      [],
      ['bogus', root],
      ['dump'],
      ['dump', root, '--bogus'],
      ['segments', root],
      ['snapshot', 'prune', root, '--keep', '0'],
      ['serve-metrics', root, '--port', 'http'],
    ]) {
      const r = await runAdmin(args);
      assertCode(r, 2, `aof2-admin ${args.join(' ')}`);
      assert.notEqual(r.stderr, '', `aof2-admin ${args.join(' ')} says why`);
    }
  });

  test('a missing root or a directory that is not a root exits 4', async () => {
    const empty = tempRoot('aof2-admin-empty-');
    try {
      const missing = await runAdmin(['dump', join(empty.root, 'nope')]);
      assertCode(missing, 4, 'missing root');
      assert.match(missing.stderr, /does not exist/);
      const notRoot = await runAdmin(['verify', empty.root]);
      assertCode(notRoot, 4, 'not a root');
      assert.match(notRoot.stderr, /is not an aof2 root/);
    } finally {
      empty.cleanup();
    }
  });
});

describe('verify progress', () => {
  /** A writable that records what it gets, posing as a terminal or not. */
  function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
    let text = '';
    const w = new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    }) as Writable & { isTTY: boolean; text: () => string; columns: number };
    w.isTTY = isTTY;
    w.columns = 100;
    w.text = () => text;
    return w;
  }

  test('draws a bar on a terminal and nothing when piped or disabled', () => {
    const tty = sink(true);
    const bar = createByteProgress('verify', 1000, tty, true);
    bar.advance(500, 'streams/a/x.seg');
    bar.stop();
    assert.match(tty.text(), /verify/);
    for (const [stream, enabled] of [
      [sink(false), true],
      [sink(true), false],
    ] as const) {
      const p = createByteProgress('verify', 1000, stream, enabled);
      p.advance(1000, 'f');
      p.stop();
      assert.equal(stream.text(), '');
    }
  });
});
