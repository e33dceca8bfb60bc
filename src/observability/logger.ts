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
    return pino(
      { level, redact: REDACT, base: undefined },
      prettyStream(options.destination ?? process.stderr),
    ) as unknown as Logger;
  }
  return pino(
    { level, redact: REDACT, base: { service: 'spotmax' }, timestamp: pino.stdTimeFunctions.isoTime },
    (options.destination ?? process.stdout) as pino.DestinationStream,
  ) as unknown as Logger;
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
