/**
 * The Tier 2 suite (support/tier2-suite.ts) against the local-directory store
 * (`tier2: { kind: 'fs', root }`): each test gets its own store directory.
 */
import { after } from 'node:test';
import { join } from 'node:path';
import { tier2Suite } from '../../support/tier2-suite.js';
import { tempRoot } from '../../support/tmp.js';

const base = tempRoot('aof2-tier2-fs-');
after(base.cleanup);
let n = 0;

tier2Suite({ name: 'a local directory', fresh: (label) => ({ kind: 'fs', root: join(base.root, `${label}-${n++}`) }) });
