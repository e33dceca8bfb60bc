// TypeScript test files run through tsx; `npm test` type-checks them first with tsc.
export default {
  files: ['test/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx/esm'],
  // Most test files wait on moto (a separate process) or on loopback HTTP, not on this machine's two
  // cores: four files at once took ava from about 6 to under 4 minutes here.
  concurrency: 4,
  timeout: '120s',
  workerThreads: false,
};
