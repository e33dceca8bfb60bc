import type { Logger } from '../ports/logger.js';
import type { MetricsPort } from '../ports/metrics.js';
import { MetricNames } from './metric-names.js';

/**
 * Wraps a logger so every error line, from it or any child, also counts one `Errors` datum — without
 * dimensions, so the stack's single CloudWatch alarm (deploy/cloudformation/spotmax.yaml, ErrorsAlarm)
 * sees every error of every group. Wrap once, in the composition root.
 */
export function countErrors(logger: Logger, metrics: MetricsPort): Logger {
  return {
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    debug: (obj, msg) => logger.debug(obj, msg),
    error: (obj, msg) => {
      logger.error(obj, msg);
      metrics.record({ name: MetricNames.Errors, value: 1, unit: 'Count' });
    },
    child: (bindings) => countErrors(logger.child(bindings), metrics),
  };
}
