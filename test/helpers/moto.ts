import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { registerMotoEndpoint } from './iam-check.js';

// Each test file that needs AWS starts its own moto server on a free loopback port, so files can run
// in parallel without resetting each other's region. The server is stopped in test.after.always and,
// as a last resort, when the worker process exits.

export interface Moto {
  endpoint: string;
  port: number;
  /** Clears every resource: call before a test that needs a clean region. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'moto (the AWS emulator the tests run against) is required: install it with `python3 -m pip install "moto[server]"` (Python 3.9+).';

export function assertMotoInstalled(): void {
  const probe = spawnSync('python3', ['-c', 'import moto, flask; print(moto.__version__)'], {
    encoding: 'utf8',
  });
  if (probe.error) throw new Error(`python3 was not found (${probe.error.message}). ${INSTALL_HINT}`);
  if (probe.status !== 0)
    throw new Error(`moto is not importable: ${probe.stderr.trim().split('\n').pop()}. ${INSTALL_HINT}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface MotoOptions {
  /**
   * Answer one request at a time. moto's threaded server checks a DynamoDB condition and writes the item
   * without a lock, so two concurrent conditional writes to one item can both succeed, which DynamoDB
   * never allows (its writes to one item are serialized); tests of conditional-write races need this.
   */
  serial?: boolean;
}

/** moto's own entry point, with werkzeug's server made single-threaded. */
const SERIAL_MOTO = [
  'import sys, moto.server as s',
  'run = s.run_simple',
  "s.run_simple = lambda *a, **k: run(*a, **{**k, 'threaded': False})",
  's.main(sys.argv[1:])',
].join('\n');

export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  assertMotoInstalled();
  const port = await freePort();
  const server = options.serial ? ['-c', SERIAL_MOTO] : ['-m', 'moto.server'];
  const child = spawn('python3', [...server, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
  });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto exited with code ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 30_000) {
      child.kill('SIGKILL');
      throw new Error(`moto did not answer on ${endpoint} within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // spotmax's requests to this moto are checked against the IAM policy (iam-check.ts).
  registerMotoEndpoint(endpoint);
  return {
    endpoint,
    port,
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
    },
    async stop() {
      running.delete(child);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Static credentials for the emulator; nothing here is a secret. */
export const TEST_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
export const TEST_REGION = 'us-east-1';
