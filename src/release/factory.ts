import type { GroupSettings } from '../config/schema.js';
import type { Clock } from '../ports/clock.js';
import type { EksPort } from '../ports/eks.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsPort } from '../ports/metrics.js';
import type { Releaser } from '../ports/releaser.js';
import { ConsulReleaser } from './consul/releaser.js';
import { checkConsulToken } from './consul/token.js';
import { checkKubeconfig, KubeClients } from './kubernetes/clients.js';
import { KubernetesReleaser } from './kubernetes/releaser.js';
import { NoopReleaser } from './noop.js';

export { recordReleaseMetrics, summarizeOutcomes } from './outcomes.js';

export interface ReleaserFactoryDeps {
  clock: Clock;
  logger: Logger;
  /**
   * Where the caller records release metrics, with recordReleaseMetrics(metrics, group, outcomes) once
   * per release; the releasers themselves record nothing, so nothing is counted twice.
   */
  metrics: MetricsPort;
  /** Environment values for consul.tokenEnv, passed in by the composition root. */
  env: Record<string, string | undefined>;
  /** EKS for kubernetes.eks and EKS kubeconfigs (the cloud's; absent on the simulated region). */
  eks?: EksPort;
}

export type ReleaserFactory = (groupName: string, settings: GroupSettings) => Releaser[];

/**
 * The release steps a group's settings enable: Kubernetes (kubernetes.enabled), Consul
 * (consul.enabled), or a NoopReleaser. Kubernetes clients are shared per kubeconfig path across
 * groups; a group's releasers are rebuilt only when its kubernetes/consul settings change.
 * The Kubernetes releaser also offers `markOutOfService(instance, signal)` for after termination.
 */
export function createReleaserFactory(deps: ReleaserFactoryDeps): ReleaserFactory {
  const kubeClients = new KubeClients(deps.clock, undefined, deps.eks);
  const byGroup = new Map<string, { key: string; releasers: Releaser[] }>();
  return (groupName, settings) => {
    const key = JSON.stringify([settings.kubernetes, settings.consul]);
    const cached = byGroup.get(groupName);
    if (cached?.key === key) return cached.releasers;
    const logger = deps.logger.child({ group: groupName });
    const releasers: Releaser[] = [];
    if (settings.kubernetes.enabled) {
      releasers.push(
        new KubernetesReleaser({
          settings: settings.kubernetes,
          clients: kubeClients,
          clock: deps.clock,
          logger,
        }),
      );
    }
    if (settings.consul.enabled) {
      releasers.push(
        new ConsulReleaser({ settings: settings.consul, clock: deps.clock, logger, env: deps.env }),
      );
    }
    if (releasers.length === 0) releasers.push(new NoopReleaser());
    byGroup.set(groupName, { key, releasers });
    return releasers;
  };
}

/** Problems with a group's release settings, for `plan` (kubeconfig missing/unreadable or running a command spotmax cannot, token unset). */
export function releaseProblems(settings: GroupSettings, env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if (settings.kubernetes.enabled) {
    // A kubeconfig wins over kubernetes.eks; an EKS cluster is checked when it is first reached.
    const problem =
      settings.kubernetes.kubeconfig || !settings.kubernetes.eks
        ? checkKubeconfig(settings.kubernetes.kubeconfig)
        : undefined;
    if (problem) problems.push(problem);
  }
  if (settings.consul.enabled) {
    const problem = checkConsulToken(settings.consul, env);
    if (problem) problems.push(problem);
  }
  return problems;
}
