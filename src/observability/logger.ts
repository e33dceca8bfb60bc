import { pino } from 'pino';
import type { Logger } from '../ports/logger.js';

// JSON lines in production (ECS ships them to CloudWatch Logs); readable text on a terminal.
// Keys that may hold secrets are redacted wherever they appear.
const REDACT = [
  'token',
  '*.token',
  'headers.authorization',
  '*.headers["x-consul-token"]',
  'aclToken',
  '*.aclToken',
];

export function createLogger(
  options: { level?: string; pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const level = options.level ?? 'info';
  if (options.pretty) {
    return new OneKeyOnce(
      pino({ level, redact: REDACT, base: undefined }, prettyStream(options.destination ?? process.stderr)),
    );
  }
  return new OneKeyOnce(
    pino(
      { level, redact: REDACT, base: { service: 'spotmax' }, timestamp: pino.stdTimeFunctions.isoTime },
      (options.destination ?? process.stdout) as pino.DestinationStream,
    ),
  );
}

type Level = 'info' | 'warn' | 'error' | 'debug';

/**
 * pino writes a child's bindings and the call's fields side by side, so a key bound twice (the pass binds
 * `group`, the executor under it binds `group` again) or bound and logged appeared twice in one JSON
 * line, which log tools read as either value. Here every child is made from the root with the bindings
 * merged (the inner value wins), and a call's field that a binding already holds replaces it.
 */
class OneKeyOnce implements Logger {
  private readonly bound: pino.Logger;

  constructor(
    private readonly root: pino.Logger,
    private readonly bindings: Record<string, unknown> = {},
  ) {
    this.bound = Object.keys(bindings).length > 0 ? root.child(bindings) : root;
  }

  child(bindings: object): Logger {
    return new OneKeyOnce(this.root, { ...this.bindings, ...bindings });
  }

  info(obj: object, msg?: string): void {
    this.log('info', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.log('warn', obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.log('error', obj, msg);
  }
  debug(obj: object, msg?: string): void {
    this.log('debug', obj, msg);
  }

  private log(level: Level, obj: object, msg?: string): void {
    if (!this.bound.isLevelEnabled(level)) return;
    const fields = obj as Record<string, unknown>;
    if (!Object.keys(fields).some((k) => k in this.bindings)) {
      this.bound[level](fields, msg);
      return;
    }
    const over: Record<string, unknown> = {};
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) (k in this.bindings ? over : rest)[k] = v;
    this.root.child({ ...this.bindings, ...over })[level](rest, msg);
  }
}

/** A small text formatter: `15:04:05 INFO message key=value ...`, no extra dependency. */
function prettyStream(out: NodeJS.WritableStream): pino.DestinationStream {
  const levels: Record<number, string> = {
    10: 'TRACE',
    20: 'DEBUG',
    30: 'INFO',
    40: 'WARN',
    50: 'ERROR',
    60: 'FATAL',
  };
  return {
    write(line: string) {
      try {
        const { level, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const when = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 19);
        const fields = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        out.write(
          `${when} ${(levels[level as number] ?? 'INFO').padEnd(5)} ${msg ?? ''}${fields ? ` ${fields}` : ''}\n`,
        );
      } catch {
        out.write(line);
      }
    },
  };
}
