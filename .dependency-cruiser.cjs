/**
 * The import directions of src/, checked by `npm run lint` (dependency-cruiser). The picture and
 * the reasons are in docs/architecture.md; this file is the rule that keeps them true.
 *
 * Every module belongs to a part: the folder below src/ (`src/gate/worker.ts` → gate) or the file
 * itself (`src/config.ts` → config). A part may import itself and the parts listed for it in
 * MAY_IMPORT, nothing else. The table is checked to have no circle, so no two parts can ever
 * import each other. A new folder gets a line here, placed by what it needs.
 */

/** Infrastructure: knows no feature. In dependency order. */
const errors = [];
const config = ['errors'];
const db = ['errors', 'config'];
const metrics = ['errors', 'config'];
const redis = ['errors', 'config', 'metrics'];
const http = ['errors', 'config', 'metrics'];
const INFRASTRUCTURE = ['errors', 'config', 'db', 'metrics', 'redis', 'http'];
/** Every feature folder. */
const FEATURES = [
  'jobs',
  'idempotency',
  'auth',
  'webhooks',
  'coupons',
  'campaigns',
  'issuance',
  'codes',
  'gate',
].concat(['redemptions', 'archive', 'simulate', 'live']);

const MAY_IMPORT = {
  errors,
  config,
  db,
  metrics,
  redis,
  http,
  // Features: infrastructure plus the features they build on.
  jobs: [...INFRASTRUCTURE],
  idempotency: [...INFRASTRUCTURE],
  auth: [...INFRASTRUCTURE],
  // The outbox writer is called by the features whose changes it reports.
  webhooks: [...INFRASTRUCTURE],
  coupons: [...INFRASTRUCTURE],
  campaigns: [...INFRASTRUCTURE, 'webhooks'],
  issuance: [...INFRASTRUCTURE, 'campaigns', 'coupons', 'webhooks'],
  codes: [...INFRASTRUCTURE, 'jobs', 'coupons', 'campaigns', 'issuance', 'webhooks'],
  gate: [...INFRASTRUCTURE, 'campaigns', 'coupons', 'issuance', 'webhooks'],
  redemptions: [...INFRASTRUCTURE, 'campaigns', 'coupons', 'codes', 'idempotency', 'issuance', 'webhooks'],
  archive: [...INFRASTRUCTURE, 'jobs', 'coupons', 'campaigns'],
  simulate: [...INFRASTRUCTURE],
  live: [...INFRASTRUCTURE, 'gate'],
  // The composition root: everything but the command line.
  app: [...INFRASTRUCTURE, ...FEATURES],
  cli: ['app', ...INFRASTRUCTURE, ...FEATURES],
  main: ['cli', 'config', 'errors'],
};

/** Throws when the table has a circle (a part that can reach itself). */
function assertAcyclic(table) {
  const state = new Map();
  const visit = (part, path) => {
    if (state.get(part) === 'done') return;
    if (state.get(part) === 'open')
      throw new Error(`MAY_IMPORT has a circle: ${[...path, part].join(' -> ')}`);
    if (!(part in table)) throw new Error(`MAY_IMPORT names an unknown part: ${part}`);
    state.set(part, 'open');
    for (const next of table[part]) visit(next, [...path, part]);
    state.set(part, 'done');
  };
  for (const part of Object.keys(table)) visit(part, []);
}
assertAcyclic(MAY_IMPORT);

/** A regex source matching the modules of `parts` (folders or top-level files of src/). */
const partsPattern = (parts) => `^src/(${parts.join('|')})(/|(\\.test)?\\.ts$)`;

const layerRules = Object.entries(MAY_IMPORT).map(([part, allowed]) => ({
  name: `layers:${part}`,
  comment: `src/${part} may import only ${allowed.length ? allowed.join(', ') : 'nothing of src'} (docs/architecture.md)`,
  severity: 'error',
  from: { path: partsPattern([part]) },
  to: { path: '^src/', pathNot: partsPattern([part, ...allowed]) },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-unknown-part',
      comment: 'every module of src/ belongs to a part listed in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: partsPattern(Object.keys(MAY_IMPORT)) },
      to: {},
    },
    {
      name: 'no-circular',
      comment: 'no module imports itself through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-code-in-src',
      comment: 'src/ never imports the test suites or their fixtures',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
