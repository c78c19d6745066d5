/**
 * Sets `AOF2_FAILPOINTS` / `AOF2_FAILPOINTS_SEED` for the duration of `fn` (restoring what was
 * there before). Workers read the variables when they start, so they must be set before the
 * manager opens: piscina starts its threads lazily, and again after every crash.
 */
export async function withFailpoints<T>(spec: string, seed: string, fn: () => Promise<T>): Promise<T> {
  const saved = { spec: process.env['AOF2_FAILPOINTS'], seed: process.env['AOF2_FAILPOINTS_SEED'] };
  process.env['AOF2_FAILPOINTS'] = spec;
  process.env['AOF2_FAILPOINTS_SEED'] = seed;
  try {
    return await fn();
  } finally {
    if (saved.spec === undefined) delete process.env['AOF2_FAILPOINTS'];
    else process.env['AOF2_FAILPOINTS'] = saved.spec;
    if (saved.seed === undefined) delete process.env['AOF2_FAILPOINTS_SEED'];
    else process.env['AOF2_FAILPOINTS_SEED'] = saved.seed;
  }
}
