import { PatchStrategy } from '@kubernetes/client-node';
import type { Clock } from '../../ports/clock.js';
import type { ReleaseReason } from '../../ports/releaser.js';
import { callOptions, httpStatus } from './call.js';
import type { KubeClient } from './clients.js';
import type { FoundNode } from './node-index.js';

// Node changes: cordon + taint in one merge patch, guarded by resourceVersion so a taint another
// controller added meanwhile is never dropped (the taint list is replaced as a whole by a merge
// patch); a conflict re-reads the node and tries again.

export interface NodeTaint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: Date;
}

const MAX_CONFLICT_RETRIES = 3;

export const OUT_OF_SERVICE_TAINT = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
};

/** Cordons the node (when `cordon`) and puts `taint` on it; a no-op when both are already there. */
export async function patchNode(
  client: KubeClient,
  node: Pick<FoundNode, 'name' | 'resourceVersion' | 'taints'> & { unschedulable?: boolean },
  change: { cordon: boolean; taint: NodeTaint },
  signal: AbortSignal,
): Promise<{ changed: boolean }> {
  let current = node;
  for (let attempt = 0; ; attempt++) {
    const has = current.taints.some(
      (t) => t.key === change.taint.key && t.effect === change.taint.effect && t.value === change.taint.value,
    );
    if (has && (!change.cordon || current.unschedulable)) return { changed: false };
    const taints = [
      ...current.taints.filter((t) => !(t.key === change.taint.key && t.effect === change.taint.effect)),
      change.taint,
    ];
    const body: Record<string, unknown> = {
      spec: { taints, ...(change.cordon ? { unschedulable: true } : {}) },
    };
    if (current.resourceVersion) body.metadata = { resourceVersion: current.resourceVersion };
    try {
      await client.core.patchNode({ name: node.name, body }, callOptions(signal, PatchStrategy.MergePatch));
      // The cached node list is not invalidated: in a storm every cordon would force a fresh list. A
      // later patch from the stale copy fails its resourceVersion check and re-reads the node.
      return { changed: true };
    } catch (err) {
      if (httpStatus(err) !== 409 || attempt >= MAX_CONFLICT_RETRIES) throw err;
      const fresh = await client.core.readNode({ name: node.name }, callOptions(signal));
      current = {
        name: node.name,
        resourceVersion: fresh.metadata?.resourceVersion,
        unschedulable: fresh.spec?.unschedulable,
        taints: fresh.spec?.taints ?? [],
      };
    }
  }
}

const EVENT_REASONS: Record<ReleaseReason, string> = {
  'spot-interruption': 'SpotInterruption',
  rebalance: 'RebalanceRecommendation',
  'scheduled-change': 'ScheduledChange',
  'lifecycle-terminate': 'InstanceTerminating',
  'state-change': 'InstanceStopping',
  lifetime: 'InstanceLifetimeReached',
  'return-to-spot': 'ReturnToSpot',
};

/** A Warning event on the node, so `kubectl describe node` says why it was cordoned. */
export async function postNodeEvent(
  client: KubeClient,
  node: Pick<FoundNode, 'name' | 'uid'>,
  what: { reason: ReleaseReason; message: string; clock: Clock },
  signal: AbortSignal,
): Promise<void> {
  const now = what.clock.now();
  await client.core.createNamespacedEvent(
    {
      namespace: 'default',
      body: {
        metadata: { generateName: `${node.name}.spotmax-`, namespace: 'default' },
        involvedObject: { kind: 'Node', apiVersion: 'v1', name: node.name, uid: node.uid ?? node.name },
        reason: EVENT_REASONS[what.reason],
        message: what.message,
        type: 'Warning',
        source: { component: 'spotmax' },
        reportingComponent: 'spotmax',
        reportingInstance: 'spotmax',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    },
    callOptions(signal),
  );
}

/**
 * After the instance is gone: the out-of-service taint lets the control plane detach volumes and
 * fail stateful pods over without waiting for the node to come back. Call only once the instance
 * has really stopped; on a live node it force-deletes pods.
 */
export async function markOutOfService(
  client: KubeClient,
  node: Pick<FoundNode, 'name' | 'resourceVersion' | 'taints'>,
  signal: AbortSignal,
) {
  return patchNode(client, node, { cordon: true, taint: { ...OUT_OF_SERVICE_TAINT } }, signal);
}
