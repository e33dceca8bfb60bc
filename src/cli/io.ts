/** The process environment, read once by main.ts and handed down (nothing else reads process.env). */
export type Env = Record<string, string | undefined>;

/** Where a command reads its environment and writes its output; tests pass their own. */
export interface CommandIO {
  env: Env;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}
