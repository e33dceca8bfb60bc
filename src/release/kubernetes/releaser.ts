import type { GroupSettings } from '../../config/schema.js';
import { describeError } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { ReleaseOutcome, ReleaseRequest, Releaser } from '../../ports/releaser.js';
import { deadlineSignal } from '../../timing/deadline.js';
import { describeKubeError } from './call.js';
import { type KubeClient, type KubeClients, KubeconfigError } from './clients.js';
import { DEFAULT_DRAIN_TUNING, type DrainTuning, drainNode } from './drain.js';
import { parseDrainOptions } from './drain-options.js';
import { markOutOfService, patchNode, postNodeEvent } from './node-ops.js';

// The Kubernetes release step: find the instance's node, cordon + taint it, say why in an Event, then
// (mode `drain`) evict its pods within the time limit. It never throws for an expected problem: a
// missing kubeconfig or an unreachable API server is a `failed` outcome, an unknown node `skipped`,
// pods left at the time limit `partial`.

export interface KubernetesReleaserOptions {
  settings: GroupSettings['kubernetes'];
  clients: KubeClients;
  clock: Clock;
  logger: Logger;
  tuning?: Partial<DrainTuning>;
  /**
   * The drain ends this long before the request's deadline, so the step reports its own outcome
   * (with the pods left) rather than being cut off by runReleasers.
   */
  marginMs?: number;
}

const STEP = 'kubernetes';

function listShort(items: string[], max = 5): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export class KubernetesReleaser implements Releaser {
  readonly name = STEP;
  private readonly tuning: DrainTuning;
  private readonly drainOptions;

  constructor(private readonly opts: KubernetesReleaserOptions) {
    this.tuning = { ...DEFAULT_DRAIN_TUNING, ...opts.tuning };
    this.drainOptions = parseDrainOptions(opts.settings.drainOption);
  }

  /** Epoch ms at which this step stops: the tightest of deadline (less a margin), drainTimeoutSeconds and --timeout. */
  private endAt(req: ReleaseRequest, started: number): number {
    const deadline = req.deadline.getTime();
    const margin = this.opts.marginMs ?? Math.min(500, Math.max(0, (deadline - started) * 0.05));
    const limits = [deadline - margin, started + this.opts.settings.drainTimeoutSeconds * 1000];
    if (this.drainOptions.timeoutSeconds !== undefined)
      limits.push(started + this.drainOptions.timeoutSeconds * 1000);
    return Math.min(...limits);
  }

  async release(req: ReleaseRequest): Promise<ReleaseOutcome> {
    const { clock } = this.opts;
    const started = clock.now().getTime();
    const id = req.instance.instanceId;
    const outcome = (
      status: ReleaseOutcome['status'],
      detail: string,
      counts?: Record<string, number>,
    ): ReleaseOutcome => ({
      step: STEP,
      status,
      durationMs: clock.now().getTime() - started,
      detail,
      ...(counts ? { counts } : {}),
    });

    let client: KubeClient;
    try {
      client = await this.opts.clients.get(this.opts.settings);
    } catch (err) {
      return outcome(
        'failed',
        err instanceof KubeconfigError
          ? err.message
          : this.opts.settings.kubeconfig
            ? `loading kubeconfig: ${describeError(err)}`
            : `reaching EKS cluster ${this.opts.settings.eks?.cluster}: ${describeError(err)}`,
      );
    }

    const endAt = this.endAt(req, started);
    // A signal, not withDeadline: at its time limit the drain stops by itself and reports what is left.
    const bounded = deadlineSignal({
      clock,
      deadline: endAt,
      signal: req.signal,
      what: `releasing ${id} in Kubernetes`,
    });
    const signal = bounded.signal;
    const log = this.opts.logger.child({ step: STEP, instanceId: id, group: req.groupName });
    let nodeName = '?';
    let stage = 'finding the node';
    try {
      const node = await client.nodes.find(req.instance, signal);
      if (!node) {
        const by = [`providerID aws:///${req.instance.availabilityZone}/${id}`, req.instance.privateDnsName]
          .filter(Boolean)
          .join(' or ');
        return outcome('skipped', `no Kubernetes node for ${id} in ${client.server} (looked for ${by})`, {
          nodeNotFound: 1,
        });
      }
      nodeName = node.name;

      stage = 'cordoning and tainting';
      const taint = {
        key: this.opts.settings.taintKey,
        value: req.reason,
        effect: 'NoSchedule',
        timeAdded: clock.now(),
      };
      await patchNode(client, node, { cordon: true, taint }, signal);

      // The event goes out alongside the drain: it explains the cordon, it need not precede the evictions.
      const counts: Record<string, number> = { cordoned: 1 };
      const why = `spotmax: ${req.reason} for instance ${id}; node cordoned${req.mode === 'drain' ? ' and being drained' : ''} before the instance goes (deadline ${req.deadline.toISOString()})`;
      const event = postNodeEvent(client, node, { reason: req.reason, message: why, clock }, signal).catch(
        (err) => {
          counts.eventFailures = 1;
          log.warn(
            { node: node.name, error: describeKubeError(err) },
            'could not record the Kubernetes event (cordon done)',
          );
        },
      );
      if (req.mode === 'cordon') {
        await event;
        return outcome('done', `node ${node.name} (by ${node.matchedBy}) cordoned and tainted`, counts);
      }

      stage = 'draining';
      const result = await drainNode({
        client,
        nodeName: node.name,
        options: this.drainOptions,
        clock,
        logger: log,
        endAt,
        signal,
        tuning: this.tuning,
      });
      await event;
      Object.assign(counts, {
        podsEvicted: result.evicted,
        podsLeft: result.left.length,
        podsKept: result.kept.length,
        podsSkipped: result.skipped,
        evictionRetries: result.retries,
      });
      const parts = [`node ${node.name} (by ${node.matchedBy}) cordoned, ${result.evicted} pods evicted`];
      if (result.skipped) parts.push(`${result.skipped} DaemonSet/mirror/finished pods left alone`);
      if (result.left.length)
        parts.push(`${result.left.length} left at the time limit: ${listShort(result.left)}`);
      if (result.kept.length)
        parts.push(`${result.kept.length} kept by the drain flags: ${listShort(result.kept)}`);
      const blocked = result.errors.filter((e) => result.left.some((l) => e.startsWith(`${l}:`)));
      if (blocked.length) parts.push(`last errors: ${listShort(blocked, 3)}`);
      if (this.drainOptions.ignored.length)
        parts.push(`ignored drain flags: ${this.drainOptions.ignored.join(' ')}`);
      const complete = result.left.length === 0 && result.kept.length === 0;
      return outcome(complete ? 'done' : 'partial', parts.join('; '), counts);
    } catch (err) {
      const overTime = signal.aborted || clock.now().getTime() >= endAt;
      const why = req.signal.aborted
        ? 'aborted by the caller'
        : overTime
          ? 'time limit reached'
          : describeKubeError(err);
      return outcome('failed', `${stage} node ${nodeName} for ${id} at ${client.server}: ${why}`);
    } finally {
      bounded.dispose();
    }
  }

  /**
   * After termination, when `outOfServiceTaint` is on: taint the instance's node out-of-service so
   * stateful pods fail over without waiting. Skipped when the option is off or the node is unknown.
   */
  async markOutOfService(instance: ReleaseRequest['instance'], signal: AbortSignal): Promise<ReleaseOutcome> {
    const started = this.opts.clock.now().getTime();
    const done = (status: ReleaseOutcome['status'], detail: string): ReleaseOutcome => ({
      step: 'kubernetes-out-of-service',
      status,
      durationMs: this.opts.clock.now().getTime() - started,
      detail,
    });
    if (!this.opts.settings.outOfServiceTaint) return done('skipped', 'outOfServiceTaint is off');
    const bounded = deadlineSignal({
      clock: this.opts.clock,
      ms: this.tuning.callTimeoutMs * 2,
      signal,
      what: `out-of-service taint for ${instance.instanceId}`,
    });
    try {
      const client = await this.opts.clients.get(this.opts.settings);
      const node = await client.nodes.find(instance, bounded.signal);
      if (!node) return done('skipped', `no Kubernetes node for ${instance.instanceId}`);
      await markOutOfService(client, node, bounded.signal);
      return done('done', `node ${node.name} tainted node.kubernetes.io/out-of-service`);
    } catch (err) {
      return done(
        'failed',
        `out-of-service taint for ${instance.instanceId}: ${err instanceof KubeconfigError ? err.message : describeKubeError(err)}`,
      );
    } finally {
      bounded.dispose();
    }
  }
}
