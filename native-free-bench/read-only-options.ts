/** What the read-only suite's writer child and the suite share (native-free-bench/read-only.ts). */

/** Records of the follow-lag case: 100 bytes, the first 8 the append's `process.hrtime` in ns (a float64). */
export const FOLLOW_PAYLOAD_BYTES = 100;

/** The writer's and the followers' tier0 (a read-only manager takes the writer's). */
export const FOLLOW_TIER0 = { arenaBytes: 32 * 1024 * 1024, segmentBytes: 1024 * 1024 } as const;
