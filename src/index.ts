export { AofManager } from './manager.js';
export type { ManagerStats } from './manager.js';
export { AofLog } from './log.js';
export type { LogRecord } from './log.js';
export { AofReader } from './reader.js';
export type { ReaderOptions } from './reader.js';
export { AofError, WouldBlockError, ErrorCode, WouldBlockKind } from './errors.js';
export type { ErrorCodeValue, WouldBlockKindValue } from './errors.js';
export type { AofManagerOptions, FsyncPolicy, Tier0Options, Tier1Options, Tier2Options } from './config.js';
