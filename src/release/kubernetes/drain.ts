import type { V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import { backoffDelay } from '../../timing/backoff.js';
import { withDeadline } from '../../timing/deadline.js';
import { mapLimit } from '../../timing/pool.js';
import { callOptions, describeKubeError, httpStatus } from './call.js';
import type { KubeClient } from './clients.js';
import type { DrainOptions } from './drain-options.js';

// Evicting a node's pods through policy/v1 Eviction, so PodDisruptionBudgets hold. Evictions run
// concurrently in a bounded pool; a 429 (budget exhausted) is retried with backoff until the time
// limit; each pod gets its own grace period, capped by the time left. Then the node's pod list is
// polled until the evicted pods are gone. At `endAt` the drain stops and reports what is left: a stuck
// pod never holds the detach (and the capacity) hostage.

export interface DrainTuning {
  /** Evictions in flight at once. */
  concurrency: number;
  /** Between polls of the node's pods while waiting for them to go. */
  pollMs: number;
  /** Per-call cap inside the time limit. */
  callTimeoutMs: number;
  /** Backoff after a 429 or a failed call: doubles from initial up to max. */
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_DRAIN_TUNING: DrainTuning = {
  concurrency: 20,
  pollMs: 1000,
  callTimeoutMs: 10_000,
  backoffInitialMs: 250,
  backoffMaxMs: 5000,
};

export interface DrainResult {
  evicted: number;
  /** Pods that were to go but are still on the node at the end (namespace/name). */
  left: string[];
  /** Pods kept on purpose because of the drain flags, with why. */
  kept: string[];
  /** DaemonSet, mirror and finished pods: not evicted, not waited for. */
  skipped: number;
  retries: number;
  /** The last error per pod that never got an eviction accepted. */
  errors: string[];
}

type Classified = { evict: V1Pod[]; kept: string[]; skipped: number };

function podName(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? '?'}`;
}

/** Which pods an eviction round concerns, per the drain flags (see drain-options.ts). */
export function classifyPods(pods: readonly V1Pod[], options: DrainOptions): Classified {
  const out: Classified = { evict: [], kept: [], skipped: 0 };
  for (const pod of pods) {
    const owners = pod.metadata?.ownerReferences ?? [];
    const controller = owners.find((o) => o.controller) ?? owners[0];
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (
      controller?.kind === 'DaemonSet' ||
      pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined ||
      finished
    ) {
      out.skipped++;
    } else if (!controller && !options.force) {
      out.kept.push(`${podName(pod)} (no controller; --force evicts it)`);
    } else if ((pod.spec?.volumes ?? []).some((v) => v.emptyDir) && !options.deleteEmptyDirData) {
      out.kept.push(`${podName(pod)} (emptyDir data; --delete-emptydir-data evicts it)`);
    } else {
      out.evict.push(pod);
    }
  }
  return out;
}

export interface DrainContext {
  client: KubeClient;
  nodeName: string;
  options: DrainOptions;
  clock: Clock;
  logger: Logger;
  /** Epoch ms at which the drain stops, whatever is left. */
  endAt: number;
  signal: AbortSignal;
  tuning: DrainTuning;
}

/** One API call, bounded by the per-call cap and by the drain's end. */
function kubeCall<T>(ctx: DrainContext, what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return withDeadline(call, {
    clock: ctx.clock,
    ms: ctx.tuning.callTimeoutMs,
    deadline: ctx.endAt,
    signal: ctx.signal,
    what,
  });
}

async function listPodsOnNode(ctx: DrainContext): Promise<V1Pod[]> {
  const list = await kubeCall(ctx, 'listing pods', (signal) =>
    ctx.client.core.listPodForAllNamespaces(
      { fieldSelector: `spec.nodeName=${ctx.nodeName}` },
      callOptions(signal),
    ),
  );
  return list.items;
}

/** Sleeps up to `ms`, never past endAt; false when there is no time left or the drain was aborted. */
async function pause(ctx: DrainContext, ms: number): Promise<boolean> {
  const left = ctx.endAt - ctx.clock.now().getTime();
  if (left <= 0 || ctx.signal.aborted) return false;
  try {
    await ctx.clock.sleep(Math.min(ms, left), ctx.signal);
  } catch {
    return false;
  }
  return ctx.endAt - ctx.clock.now().getTime() > 0;
}

type EvictResult = { accepted: boolean; retries: number; error?: string };

async function evictOne(ctx: DrainContext, pod: V1Pod): Promise<EvictResult> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  let retries = 0;
  let error: string | undefined;
  for (;;) {
    const leftMs = ctx.endAt - ctx.clock.now().getTime();
    if (leftMs <= 0 || ctx.signal.aborted)
      return { accepted: false, retries, error: error ?? 'time limit reached' };
    const own = pod.spec?.terminationGracePeriodSeconds ?? 30;
    const wanted = ctx.options.gracePeriodSeconds ?? own;
    // Capped so the pod is gone, and seen gone by a poll, before the time limit: one second and one
    // poll interval are kept for the kubelet to report the deletion. At least 1 s, as 0 would ask for an
    // immediate, unclean deletion.
    const grace = Math.max(1, Math.min(wanted, Math.floor((leftMs - ctx.tuning.pollMs) / 1000) - 1));
    try {
      await kubeCall(ctx, `evicting ${namespace}/${name}`, (signal) =>
        ctx.client.core.createNamespacedPodEviction(
          {
            name,
            namespace,
            body: {
              apiVersion: 'policy/v1',
              kind: 'Eviction',
              metadata: { name, namespace },
              deleteOptions: {
                gracePeriodSeconds: grace,
                // Only this pod, not a recreated namesake.
                ...(pod.metadata?.uid ? { preconditions: { uid: pod.metadata.uid } } : {}),
              },
            },
          },
          callOptions(signal),
        ),
      );
      return { accepted: true, retries };
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404 || status === 409) return { accepted: true, retries }; // already gone or replaced
      // An attempt cut short by the time limit says nothing about the pod: the refusal before it (a
      // budget, an API error) stays the reason the pod is left.
      if (ctx.signal.aborted) return { accepted: false, retries, error: error ?? describeKubeError(err) };
      error = status === 429 ? 'blocked by a PodDisruptionBudget' : describeKubeError(err);
    }
    retries++;
    const backoff = backoffDelay(retries, {
      baseMs: ctx.tuning.backoffInitialMs,
      maxMs: ctx.tuning.backoffMaxMs,
    });
    ctx.logger.debug(
      { pod: `${namespace}/${name}`, node: ctx.nodeName, error, retryInMs: backoff },
      'eviction not accepted yet',
    );
    if (!(await pause(ctx, backoff))) return { accepted: false, retries, error };
  }
}

export async function drainNode(ctx: DrainContext): Promise<DrainResult> {
  const pods = await listPodsOnNode(ctx);
  const { evict, kept, skipped } = classifyPods(pods, ctx.options);
  if (evict.length === 0) return { evicted: 0, left: [], kept, skipped, retries: 0, errors: [] };
  let settled = false;
  // One pod's failure is its own result, never the end of the others' evictions.
  const evictions = mapLimit(evict, ctx.tuning.concurrency, (pod) =>
    evictOne(ctx, pod).catch(
      (err): EvictResult => ({ accepted: false, retries: 0, error: describeKubeError(err) }),
    ),
  ).finally(() => {
    settled = true;
  });

  // Meanwhile, watch the pods go: one list per poll covers every pod of the node, and a pod evicted
  // early is seen gone even while another is still held by its budget.
  const targets = new Map(evict.map((p) => [p.metadata?.uid ?? podName(p), podName(p)]));
  let remaining = new Set(targets.keys());
  while (remaining.size > 0 || !settled) {
    if (!(await pause(ctx, ctx.tuning.pollMs))) break;
    try {
      const present = new Set((await listPodsOnNode(ctx)).map((p) => p.metadata?.uid ?? podName(p)));
      remaining = new Set([...remaining].filter((uid) => present.has(uid)));
    } catch (err) {
      ctx.logger.debug(
        { node: ctx.nodeName, error: describeKubeError(err) },
        'listing pods while waiting failed',
      );
    }
  }
  const results = await evictions;

  let retries = 0;
  const errors: string[] = [];
  results.forEach((r, i) => {
    retries += r.retries;
    if (!r.accepted) errors.push(`${podName(evict[i] as V1Pod)}: ${r.error ?? 'not evicted'}`);
  });
  const left = [...remaining].map((uid) => targets.get(uid) as string);
  return { evicted: evict.length - left.length, left, kept, skipped, retries, errors };
}
