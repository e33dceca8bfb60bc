import { CloudError } from '../domain/errors.js';
import type { Cloud } from '../ports/cloud.js';
import type { Logger } from '../ports/logger.js';

// --dry-run's guarantee, by construction: the cloud handed to the controllers cannot change anything.
// The controllers still branch on dryRun to log "would …" with their reasons and to skip the waits that
// only make sense after a change; this decorator is the net under them, so a branch that forgets dry-run
// logs a refused call instead of detaching, terminating or deleting in a live account.

/**
 * The calls a dry run may send: reads, and the queue's receive and visibility (a dry run leaves every
 * message on the queue for the service that acts). Anything else, including a call added to a port later,
 * is refused: an allowlist fails safe.
 */
const ALLOWED: Record<'autoscaling' | 'ec2' | 'queue', readonly string[]> = {
  autoscaling: ['describeGroups', 'describeScalingActivities', 'describeHookHeartbeatSeconds'],
  ec2: ['describeInstances', 'describeVolumes', 'describeSnapshots', 'describeLaunchTemplateVersion'],
  queue: ['receive', 'changeVisibility', 'check'],
};

export function dryRunCloud(cloud: Cloud, logger: Logger): Cloud {
  const refuse = <T extends object>(port: keyof typeof ALLOWED, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof prop !== 'string' || typeof value !== 'function' || ALLOWED[port].includes(prop))
          return value;
        return async (...args: unknown[]) => {
          logger.warn(
            { dryRun: true, call: `${port}.${prop}`, args: JSON.stringify(args).slice(0, 300) },
            `dry run: refused ${port}.${prop}`,
          );
          throw new CloudError(prop, `dry run: ${port}.${prop} not sent`, 'DryRun', false);
        };
      },
    });
  return {
    ...cloud,
    autoscaling: refuse('autoscaling', cloud.autoscaling),
    ec2: refuse('ec2', cloud.ec2),
    queue: refuse('queue', cloud.queue),
  };
}
