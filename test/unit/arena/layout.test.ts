/**
 * src/arena/layout.ts: the word offsets every thread agrees on. These are the numbers that
 * docs/formats.md must match (the segment table starts at word 128, the slot words after its
 * 65,536 entries, the fsync histogram sits in the global region), so they are pinned as literals
 * here as well as checked for the properties that matter:
 * no two control words share a cache line across threads, nothing overlaps, data is page-aligned.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CACHE_LINE_WORDS,
  CONTROL_ALIGN,
  FSYNC_BUCKET_BOUNDS,
  FSYNC_SUM_INDEX,
  GLOBAL_WORDS,
  G_FLUSHER_IDLE,
  G_FLUSHER_STATE,
  G_FSYNC_HIST,
  G_PREFAULT_DONE,
  G_PREFAULT_NEXT,
  G_PROGRESS_EPOCH,
  G_SYNC_REQUEST,
  G_WAKE_URGENT,
  G_WORK_EPOCH,
  MAX_OPEN_SEGMENTS,
  SEG_TABLE_WORD,
  SEG_WORDS,
  SLOT_TABLE_WORD,
  SLOT_WORDS,
  S_FLUSHED_LEN,
  S_PINS,
  S_PREFAULT,
  S_PAGE_USED,
  S_START,
  S_NEXT,
  S_STATE,
  S_WRITE_LEN,
  SegState,
  SlotState,
  T_DURABLE_COUNT,
  T_DURABLE_LEN,
  T_FLUSHED_LEN,
  T_STATE,
  controlBytes,
  segWord,
  slotDataOffset,
  slotWord,
} from '../../../src/arena/layout.js';

const KiB = 1024;

describe('global words', () => {
  test('pinned offsets: one 64-byte cache line each, the fsync histogram after them, the segment table from word 128, slot words after it', () => {
    assert.equal(CACHE_LINE_WORDS * 4, 64);
    assert.deepEqual([G_WORK_EPOCH, G_FLUSHER_IDLE, G_PROGRESS_EPOCH, G_SYNC_REQUEST, G_FLUSHER_STATE, G_FSYNC_HIST], [0, 16, 32, 48, 64, 80]);
    assert.equal(GLOBAL_WORDS, 128);
    assert.equal(SEG_TABLE_WORD, 128);
    assert.equal(MAX_OPEN_SEGMENTS, 65_536);
    assert.equal(SLOT_TABLE_WORD, 128 + 4 * 65_536);
    assert.equal(slotWord(0, S_STATE), 262_272);
  });

  test('the words that share a line: WAKE_URGENT beside SYNC_REQUEST, the prefault cursor beside FLUSHER_STATE; every global word distinct and outside the histogram', () => {
    assert.equal(G_WAKE_URGENT, 49);
    assert.deepEqual([G_PREFAULT_NEXT, G_PREFAULT_DONE], [65, 66]);
    const words = [G_WORK_EPOCH, G_FLUSHER_IDLE, G_PROGRESS_EPOCH, G_SYNC_REQUEST, G_WAKE_URGENT, G_FLUSHER_STATE, G_PREFAULT_NEXT, G_PREFAULT_DONE];
    assert.equal(new Set(words).size, words.length);
    const histEnd = G_FSYNC_HIST + 2 * (FSYNC_SUM_INDEX + 1); // Int32 words
    for (const w of words) assert.ok(w < G_FSYNC_HIST || w >= histEnd, `word ${w} inside the fsync histogram`);
    // The two shared lines (layout.ts says why each is safe to share: neither is on the hot path).
    assert.equal(Math.floor(G_WAKE_URGENT / CACHE_LINE_WORDS), Math.floor(G_SYNC_REQUEST / CACHE_LINE_WORDS));
    assert.equal(Math.floor(G_PREFAULT_DONE / CACHE_LINE_WORDS), Math.floor(G_FLUSHER_STATE / CACHE_LINE_WORDS));
  });

  test('the fsync histogram is BigInt64-aligned and ends inside the global region', () => {
    assert.equal((G_FSYNC_HIST * 4) % 8, 0);
    assert.equal(FSYNC_SUM_INDEX, FSYNC_BUCKET_BOUNDS.length + 1);
    const endByte = G_FSYNC_HIST * 4 + (FSYNC_SUM_INDEX + 1) * 8; // buckets, +Inf, then the sum
    assert.ok(endByte <= GLOBAL_WORDS * 4, `histogram ends at byte ${endByte}, past the global region`);
    assert.ok(G_FSYNC_HIST >= G_FLUSHER_STATE + CACHE_LINE_WORDS, 'the histogram does not share the flusher state line');
    for (let i = 1; i < FSYNC_BUCKET_BOUNDS.length; i++) assert.ok(FSYNC_BUCKET_BOUNDS[i]! > FSYNC_BUCKET_BOUNDS[i - 1]!);
  });
});

describe('segment table', () => {
  test('four words per entry, distinct; entries back to back from SEG_TABLE_WORD, the last one ending where the slot words start', () => {
    const words = [T_STATE, T_FLUSHED_LEN, T_DURABLE_LEN, T_DURABLE_COUNT];
    assert.equal(new Set(words).size, words.length);
    for (const w of words) assert.ok(w >= 0 && w < SEG_WORDS, `word ${w}`);
    assert.equal(segWord(0, T_STATE), SEG_TABLE_WORD);
    assert.equal(segWord(1, T_STATE) - segWord(0, T_STATE), SEG_WORDS);
    assert.equal(segWord(MAX_OPEN_SEGMENTS - 1, SEG_WORDS - 1) + 1, SLOT_TABLE_WORD);
  });

  test('entry states: 0 is an unused entry (a zeroed buffer), the failure sentinel negative', () => {
    const values = Object.values(SegState);
    assert.equal(new Set(values).size, values.length);
    assert.equal(SegState.UNUSED, 0);
    for (const [name, v] of Object.entries(SegState)) assert.equal(v < 0, name === 'FAILED', name);
  });
});

describe('slot words', () => {
  test('every per-slot word is distinct and inside its slot line; slots follow one another', () => {
    const words = [S_STATE, S_WRITE_LEN, S_FLUSHED_LEN, S_PINS, S_START, S_NEXT, S_PREFAULT, S_PAGE_USED];
    assert.deepEqual(words, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(new Set(words).size, words.length);
    for (const w of words) assert.ok(w >= 0 && w < SLOT_WORDS, `word ${w}`);
    assert.equal(SLOT_WORDS, CACHE_LINE_WORDS);
    assert.equal(slotWord(3, S_PINS), SLOT_TABLE_WORD + 3 * SLOT_WORDS + S_PINS);
    assert.equal(slotWord(1, S_STATE) - slotWord(0, S_STATE), SLOT_WORDS);
  });

  test('slot states: the failure sentinel is negative, the others distinct and non-negative', () => {
    const values = Object.values(SlotState);
    assert.equal(new Set(values).size, values.length);
    assert.equal(SlotState.FREE, 0, 'a zeroed SharedArrayBuffer is all FREE slots');
    for (const [name, v] of Object.entries(SlotState)) assert.equal(v < 0, name === 'FAILED', name);
  });
});

describe('the control region', () => {
  test('the control region holds every word, rounded up to a page; slot data is page-aligned and back to back', () => {
    for (const slots of [1, 4, 8, 300, 16384]) {
      const bytes = controlBytes(slots);
      assert.equal(bytes % CONTROL_ALIGN, 0);
      const lastWord = slotWord(slots - 1, SLOT_WORDS - 1);
      assert.ok((lastWord + 1) * 4 <= bytes, `${slots} slots: last word ${lastWord} past ${bytes} bytes`);
      assert.ok(bytes - (lastWord + 1) * 4 < CONTROL_ALIGN, 'no more than one page of padding');
      const seg = 64 * KiB;
      assert.equal(slotDataOffset(slots, seg, 0), bytes);
      assert.equal(slotDataOffset(slots, seg, slots - 1), bytes + (slots - 1) * seg);
    }
    // 1 MiB of segment table, 128 global words, 4 slots of 16 words: 257 pages.
    assert.equal(controlBytes(4), 257 * 4096);
  });
});
