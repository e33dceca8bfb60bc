import { main } from '../../src/main.js';
import { captureIO } from '../config/support.js';

/** `spotmax <args>` in this process, with exactly `env` as its environment; exit code and what it printed. */
export async function runMain(args: string[], env: Record<string, string | undefined> = {}) {
  const c = captureIO();
  const code = await main(args, env, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}
