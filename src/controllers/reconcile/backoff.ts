// Moved to src/timing/backoff.ts; kept so reconcile/loop.ts (being rewritten by another change) compiles.
export { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from '../../timing/backoff.js';
