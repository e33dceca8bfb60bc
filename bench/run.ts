// `npm run bench`: runs every benchmark in turn and prints its figures. Benchmarks measure, they do not
// assert: the figures go into the issue notes. Pass names to run a subset: npm run bench -- drain sim
type Figures = Record<string, number | string>;

const benches: Record<string, () => Promise<Figures>> = {
  interruption: async () => (await import('./interruption.js')).benchInterruption(),
  drain: async () => (await import('./drain.js')).benchDrain(),
  sim: async () => (await import('./sim.js')).benchSim(),
  reconcile: async () => (await import('./reconcile.js')).benchReconcile(),
  replicas: async () => (await import('./replicas.js')).benchReplicas(),
};
/** Long runs, only when named: npm run bench -- sim-day */
const onRequest: Record<string, () => Promise<Figures>> = {
  'sim-day': async () => (await import('./sim.js')).benchSimDay(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(benches);
Object.assign(benches, onRequest);
let failed = 0;
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
    process.exitCode = 1;
    continue;
  }
  const started = performance.now();
  try {
    const figures = await bench();
    console.log(`\n== ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    for (const [key, value] of Object.entries(figures)) console.log(`  ${key.padEnd(44)} ${value}`);
  } catch (err) {
    failed++;
    console.error(`\n== ${name} failed: ${err instanceof Error ? err.stack : String(err)}`);
  }
}
if (failed > 0) process.exitCode = 2;
