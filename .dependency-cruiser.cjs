/**
 * Architecture rules, checked by `npm run check:arch` (part of `npm test`): the import graph stays the
 * way docs/architecture.md ("Module structure and dependency rules") draws it. A rule that has to
 * change is a design change: change the drawing in the same commit.
 */
/** The engine's top layer: the public classes and what only they use. */
const ENGINE = '^src/(manager|log|reader|index|exit-drain|retention|node-streams|follow)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles: every module can be read, tested and replaced from the bottom up.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'workers-import-no-engine',
      comment:
        'A worker thread runs one job on shared memory and files: it imports protocols, formats, codecs, errors, ' +
        'the safe-fs rule, the shared-memory layout and the object-store adapters, never the engine that schedules it.',
      severity: 'error',
      from: { path: '^workers/' },
      to: {
        path: '^src/',
        pathNot:
          '^src/(format/|codec/|arena/(layout|fsync-histogram|prefault)\\.ts$|errors\\.ts$|worker-error\\.ts$|safe-fs(-sync)?\\.ts$|make-directory\\.ts$|config\\.ts$|' +
          'tier2/(object-store|store-contract|remote-meta|s3-store|fs-store|credentials)\\.ts$)',
      },
    },
    {
      name: 'formats-are-leaves',
      comment: 'On-disk formats and codecs are plain functions over bytes: they import only each other, errors and safe-fs.',
      severity: 'error',
      from: { path: '^src/(format|codec)/' },
      to: { path: '^src/', pathNot: '^src/(format/|codec/|errors\\.ts$|safe-fs(-sync)?\\.ts$)' },
    },
    {
      name: 'tier0-below-tier1',
      comment: 'Tier 0 (arena slots, flusher, segment state) knows nothing of compression, object storage or the read path.',
      severity: 'error',
      from: { path: '^src/tier0/' },
      to: { path: ['^src/(tier1|tier2|read)/', ENGINE] },
    },
    {
      name: 'tier1-below-tier2',
      comment: 'Tier 1 never calls Tier 2: the read path asks both as sources (src/read/ports.ts), the manager wires them.',
      severity: 'error',
      from: { path: '^src/tier1/' },
      to: { path: ['^src/tier2/', '^src/read/(?!ports\\.ts$)', ENGINE] },
    },
    {
      name: 'tier2-below-engine',
      comment: 'Tier 2 is a source and an uploader; it does not reach into the read path or the public classes.',
      severity: 'error',
      from: { path: '^src/tier2/' },
      to: { path: ['^src/read/(?!ports\\.ts$)', ENGINE] },
    },
    {
      name: 'read-path-asks-ports',
      comment: 'The read path depends on the source interfaces (ports.ts), not on Tier 1 or Tier 2 modules, nor on the public classes.',
      severity: 'error',
      from: { path: '^src/read/' },
      to: { path: ['^src/tier2/(?!store-contract\\.ts$)', '^src/tier1/', ENGINE] },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a cycle through types is still a cycle for the reader of the code.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
