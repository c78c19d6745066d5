/**
 * docs/formats.md against the code it describes: the shared-memory tables (global words, segment
 * table words and slot words) must name every constant of src/arena/layout.ts at its real offset,
 * and name a writer.
 * The doc drifted once (slot words documented at 80 when they start at 128, the fsync histogram
 * missing); this test is what keeps it from drifting again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as layout from '../../../src/arena/layout.js';
import { ENVELOPE_BYTES, ENVELOPE_CRC_OFFSET, ENVELOPE_LENGTH_OFFSET, ENVELOPE_VERSION_OFFSET } from '../../../src/format/envelope.js';
import { PACKAGE_ROOT } from '../../../support/paths.js';

const DOC = readFileSync(join(PACKAGE_ROOT, 'docs', 'formats.md'), 'utf8');

/** The text of the `## <title>` section, up to the next `## `. */
function section(title: string): string {
  const start = DOC.indexOf(`## ${title}`);
  assert.ok(start >= 0, `docs/formats.md has a "## ${title}" section`);
  const end = DOC.indexOf('\n## ', start + 3);
  return DOC.slice(start, end < 0 ? undefined : end);
}

interface Row {
  word: number;
  constant: string;
  writer: string;
}

/** Rows `| <word> | \`NAME\` | writer | ... |` of the table that follows `heading` in `text`. */
function table(text: string, heading: string): Row[] {
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `table after "${heading}"`);
  const rows: Row[] = [];
  for (const line of text.slice(at).split('\n').slice(1)) {
    if (rows.length > 0 && !line.startsWith('|')) break;
    const m = /^\| (\d+) \| `([A-Z_0-9]+)` \| ([^|]+) \|/.exec(line);
    if (m !== null) rows.push({ word: Number(m[1]), constant: m[2]!, writer: m[3]!.trim() });
  }
  return rows;
}

const constant = (name: string): number => {
  const value = (layout as Record<string, unknown>)[name];
  assert.equal(typeof value, 'number', `src/arena/layout.ts exports ${name}`);
  return value as number;
};

describe('docs/formats.md matches the code', () => {
  const shared = section('Shared memory (not persisted)');

  test('global control words: every G_* constant at its offset, with a writer', () => {
    const rows = table(shared, 'Global words');
    const documented = new Set(rows.map((r) => r.constant));
    for (const name of Object.keys(layout).filter((k) => k.startsWith('G_'))) assert.ok(documented.has(name), `${name} is documented`);
    assert.ok(documented.has('GLOBAL_WORDS'));
    for (const row of rows) {
      assert.equal(row.word, constant(row.constant), `${row.constant} is documented at word ${row.word}`);
      if (row.constant.startsWith('G_')) assert.notEqual(row.writer, '-', `${row.constant} names its writer`);
    }
  });

  test('segment table entries start at GLOBAL_WORDS and every T_* constant is at its offset, with a writer', () => {
    assert.equal(layout.SEG_TABLE_WORD, layout.GLOBAL_WORDS);
    assert.match(shared, new RegExp(`words \`${layout.SEG_TABLE_WORD} \\+ ${layout.SEG_WORDS}\\*h\``), 'entry h starts at SEG_TABLE_WORD + SEG_WORDS * h');
    assert.match(shared, new RegExp(`MAX_OPEN_SEGMENTS\` is ${layout.MAX_OPEN_SEGMENTS.toLocaleString('en-US')}`));
    const rows = table(shared, 'Segment table:');
    const documented = new Set(rows.map((r) => r.constant));
    for (const name of Object.keys(layout).filter((k) => k.startsWith('T_'))) assert.ok(documented.has(name), `${name} is documented`);
    for (const row of rows) {
      assert.equal(row.word, constant(row.constant), `${row.constant} is documented at word ${row.word}`);
      assert.notEqual(row.writer, '-', `${row.constant} names its writer`);
    }
  });

  test('slot words start after the segment table and every S_* constant is at its offset, with a writer', () => {
    assert.equal(layout.SLOT_TABLE_WORD, layout.SEG_TABLE_WORD + layout.MAX_OPEN_SEGMENTS * layout.SEG_WORDS);
    assert.match(shared, new RegExp(`words \`${layout.SLOT_TABLE_WORD} \\+ ${layout.SLOT_WORDS}\\*s\``), 'slot s starts at SLOT_TABLE_WORD + SLOT_WORDS * s');
    const rows = table(shared, 'Slot words');
    const documented = new Set(rows.map((r) => r.constant));
    for (const name of Object.keys(layout).filter((k) => k.startsWith('S_'))) assert.ok(documented.has(name), `${name} is documented`);
    for (const row of rows) {
      assert.equal(row.word, constant(row.constant), `${row.constant} is documented at word ${row.word}`);
      assert.notEqual(row.writer, '-', `${row.constant} names its writer`);
    }
  });

  test('the fsync histogram: bucket count, sum index and extent as documented', () => {
    const buckets = layout.FSYNC_BUCKET_BOUNDS.length + 1;
    assert.match(shared, new RegExp(`${buckets + 1} BigInt64 counters \\(words ${layout.G_FSYNC_HIST} to ${layout.G_FSYNC_HIST + 2 * (buckets + 1) - 1}`));
    assert.match(shared, new RegExp(`${buckets} bucket counts`));
    assert.match(shared, new RegExp(`\`FSYNC_SUM_INDEX\` \\(${layout.FSYNC_SUM_INDEX}\\)`));
    assert.ok(layout.G_FSYNC_HIST + 2 * (buckets + 1) <= layout.GLOBAL_WORDS, 'the histogram fits the global words');
    assert.match(shared, new RegExp(`CONTROL_ALIGN \\(${layout.CONTROL_ALIGN} bytes\\)`));
  });

  test('the 64-byte envelope offsets', () => {
    const envelope = section('The 64-byte envelope');
    assert.match(envelope, new RegExp(`\n${ENVELOPE_VERSION_OFFSET} +2 +version`));
    assert.match(envelope, new RegExp(`\n${ENVELOPE_LENGTH_OFFSET} +2 +length +u16 = ${ENVELOPE_BYTES}`));
    assert.match(envelope, new RegExp(`\n${ENVELOPE_CRC_OFFSET} +4 +crc`));
  });
});
