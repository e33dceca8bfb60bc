// TypeScript test files run through tsx; `npm test` type-checks them first with tsc.
export default {
  files: ['test/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx/esm'],
  concurrency: 2,
  timeout: '120s',
  workerThreads: false,
};
