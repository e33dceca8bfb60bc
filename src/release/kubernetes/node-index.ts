import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import type { Clock } from '../../ports/clock.js';
import type { ReleaseRequest } from '../../ports/releaser.js';
import { deadlineSignal, withDeadline } from '../../timing/deadline.js';
import { callOptions } from './call.js';

const LIST_TIMEOUT_MS = 15_000;
/** A miss right after a list does not list again (a storm of unknown instances would hammer the API). */
const MIN_RELIST_MS = 1_000;

// Instance → node. One node list serves every lookup for a short while, and concurrent lookups share
// one request in flight: in a storm of 50 interruptions the cluster sees one list, not fifty.
// Matching order: spec.providerID (aws:///<az>/<instance-id>, also the legacy aws:///<id> form), then
// the private DNS name as node name, kubernetes.io/hostname label or InternalDNS/Hostname address
// (with or without the domain, since kubelets register either form).

export interface FoundNode {
  name: string;
  uid?: string;
  resourceVersion?: string;
  unschedulable?: boolean;
  taints: { key: string; value?: string; effect: string; timeAdded?: Date }[];
  matchedBy: 'providerID' | 'dnsName';
}

interface Index {
  fetchedAt: number;
  byInstanceId: Map<string, V1Node>;
  byName: Map<string, V1Node>;
}

function shortName(host: string): string {
  return host.split('.')[0] ?? host;
}

function buildIndex(nodes: V1Node[], fetchedAt: number): Index {
  const byInstanceId = new Map<string, V1Node>();
  const byName = new Map<string, V1Node>();
  for (const node of nodes) {
    const id = node.spec?.providerID?.match(/^aws:\/\/\/(?:[^/]*\/)?(i-[0-9a-f]+)$/)?.[1];
    if (id) byInstanceId.set(id, node);
    const names = [
      node.metadata?.name,
      node.metadata?.labels?.['kubernetes.io/hostname'],
      ...(node.status?.addresses ?? [])
        .filter((a) => a.type === 'InternalDNS' || a.type === 'Hostname')
        .map((a) => a.address),
    ];
    for (const n of names) {
      if (!n) continue;
      if (!byName.has(n)) byName.set(n, node);
      if (!byName.has(shortName(n))) byName.set(shortName(n), node);
    }
  }
  return { fetchedAt, byInstanceId, byName };
}

function toFound(node: V1Node, matchedBy: FoundNode['matchedBy']): FoundNode {
  return {
    name: node.metadata?.name ?? '',
    uid: node.metadata?.uid,
    resourceVersion: node.metadata?.resourceVersion,
    unschedulable: node.spec?.unschedulable,
    taints: (node.spec?.taints ?? []).map((t) => ({
      key: t.key,
      value: t.value,
      effect: t.effect,
      timeAdded: t.timeAdded,
    })),
    matchedBy,
  };
}

export class NodeIndex {
  private index: Index | undefined;
  private inflight: Promise<Index> | undefined;
  /** Node lists made, for tests and the bench. */
  lists = 0;

  constructor(
    private readonly core: CoreV1Api,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  private refresh(signal: AbortSignal): Promise<Index> {
    if (!this.inflight) {
      this.lists++;
      // The shared list is not tied to any one caller's signal (a caller with a short deadline must not
      // fail the others); it has its own timeout, and a caller that gives up simply stops waiting.
      const bounded = deadlineSignal({ clock: this.clock, ms: LIST_TIMEOUT_MS, what: 'listing nodes' });
      this.inflight = this.core
        .listNode({}, callOptions(bounded.signal))
        .then((list) => {
          this.index = buildIndex(list.items, this.clock.now().getTime());
          return this.index;
        })
        .finally(() => {
          bounded.dispose();
          this.inflight = undefined;
        });
    }
    // No time limit of the caller's own here: the list has its timeout; the caller may only stop waiting.
    return withDeadline(() => this.inflight as Promise<Index>, {
      clock: this.clock,
      signal,
      what: 'waiting for the node list',
    });
  }

  /** The node of an instance, or undefined. A miss in a cached index triggers one fresh list. */
  async find(instance: ReleaseRequest['instance'], signal: AbortSignal): Promise<FoundNode | undefined> {
    const fresh = this.index && this.clock.now().getTime() - this.index.fetchedAt < this.ttlMs;
    let index = fresh && this.index ? this.index : await this.refresh(signal);
    let hit = lookup(index, instance);
    if (!hit && fresh && this.clock.now().getTime() - index.fetchedAt > MIN_RELIST_MS) {
      index = await this.refresh(signal);
      hit = lookup(index, instance);
    }
    return hit;
  }
}

function lookup(index: Index, instance: ReleaseRequest['instance']): FoundNode | undefined {
  const byId = index.byInstanceId.get(instance.instanceId);
  if (byId) return toFound(byId, 'providerID');
  const dns = instance.privateDnsName;
  if (dns) {
    const byName = index.byName.get(dns) ?? index.byName.get(shortName(dns));
    if (byName) return toFound(byName, 'dnsName');
  }
  return undefined;
}
