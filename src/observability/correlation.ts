import type { Logger } from '../ports/logger.js';

/**
 * A child logger whose every line carries `correlationId`, so all lines about one event (receive,
 * release, detach, delete) can be found with one CloudWatch Logs Insights filter.
 */
export function withCorrelation(logger: Logger, correlationId: string, bindings: object = {}): Logger {
  return logger.child({ ...bindings, correlationId });
}
