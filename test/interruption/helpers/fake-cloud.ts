import { randomUUID } from 'node:crypto';
import { CloudError } from '../../../src/domain/errors.js';
import type { Group, Instance, Tags } from '../../../src/domain/types.js';
import type { AutoScalingPort, LifecycleActionRef } from '../../../src/ports/autoscaling.js';
import type { Clock } from '../../../src/ports/clock.js';
import type { Cloud } from '../../../src/ports/cloud.js';
import type { Ec2Port } from '../../../src/ports/ec2.js';
import type { MetricDatum } from '../../../src/ports/metrics.js';
import type { QueueMessage, QueuePort, ReceiveOptions } from '../../../src/ports/queue.js';

// In-memory fakes of the ports the fast path uses, recording every call, with fault injection.

export interface DetachCall {
  groupName: string;
  ids: string[];
  decrement: boolean;
  at: number;
}

interface StoredMessage {
  id: string;
  body: string;
  receipt: string;
  visibleAt: number;
  receiveCount: number;
}

let seq = 0;
export const newInstanceId = () => `i-${(0x1000000000000 + ++seq).toString(16).padStart(17, '0')}`;

export class FakeCloud {
  readonly region = 'us-east-1';
  readonly groups = new Map<string, Group>();
  readonly instances = new Map<string, Instance>();
  readonly detachCalls: DetachCall[] = [];
  readonly tagCalls: { ids: string[]; tags: Tags }[] = [];
  readonly completions: { ref: LifecycleActionRef; result: string }[] = [];
  readonly heartbeats: { ref: LifecycleActionRef; at: number }[] = [];
  readonly hookTimeouts = new Map<string, number>();
  readonly metricsRecorded: MetricDatum[] = [];
  readonly messages = new Map<string, StoredMessage[]>();
  readonly deleted: string[] = [];
  describeGroupsCalls = 0;
  metricFlushes = 0;
  private readonly faults = new Map<string, unknown[]>();
  private readonly completedTokens = new Set<string>();
  private readonly waiting = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** The next `times` calls of `method` throw `err`. */
  fail(method: string, err: unknown, times = 1): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...Array(times).fill(err)]);
  }

  private check(method: string): void {
    const queue = this.faults.get(method);
    if (queue && queue.length > 0) throw queue.shift();
  }

  addGroup(name: string, size: number, tags: Record<string, string> = { 'spotmax:managed': 'true' }): Group {
    const group: Group = {
      name,
      desired: size,
      min: 0,
      max: size * 3 + 10,
      availabilityZones: ['us-east-1a'],
      subnetIds: [],
      tags: Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
      members: [],
    };
    this.groups.set(name, group);
    for (let i = 0; i < size; i++) this.launchInto(group);
    return group;
  }

  launchInto(group: Group, market: 'spot' | 'on-demand' = 'spot'): Instance {
    const instance = this.addInstance({ market, tags: { 'aws:autoscaling:groupName': group.name } });
    group.members.push({
      instanceId: instance.instanceId,
      availabilityZone: 'us-east-1a',
      lifecycleState: 'InService',
      healthStatus: 'Healthy',
    });
    return instance;
  }

  addInstance(over: Partial<Instance> = {}): Instance {
    const instance: Instance = {
      instanceId: newInstanceId(),
      state: 'running',
      market: 'spot',
      instanceType: 'm5.large',
      availabilityZone: 'us-east-1a',
      privateIp: '10.0.0.1',
      launchTime: this.clock.now(),
      tags: {},
      ...over,
    };
    this.instances.set(instance.instanceId, instance);
    return instance;
  }

  membersOf(name: string): string[] {
    return (this.groups.get(name)?.members ?? []).map((m) => m.instanceId);
  }

  readonly autoscaling: AutoScalingPort = {
    describeGroups: async (names) => {
      this.describeGroupsCalls++;
      this.check('describeGroups');
      const all = [...this.groups.values()].filter((g) => !names || names.includes(g.name));
      return structuredClone(all);
    },
    detachInstances: async (groupName, ids, decrement) => {
      this.check('detachInstances');
      if (ids.length > 20)
        throw new CloudError('DetachInstances', `detaching from ${groupName}`, 'ValidationError', false);
      const group = this.groups.get(groupName);
      if (!group)
        throw new CloudError('DetachInstances', `detaching from ${groupName}`, 'ValidationError', false);
      const missing = ids.filter((id) => !group.members.some((m) => m.instanceId === id));
      if (missing.length > 0) {
        throw new CloudError(
          'DetachInstances',
          `detaching from ${groupName}`,
          'ValidationError',
          false,
          new Error(`The instance ${missing[0]} is not part of Auto Scaling group ${groupName}.`),
        );
      }
      this.detachCalls.push({ groupName, ids: [...ids], decrement, at: this.clock.now().getTime() });
      group.members = group.members.filter((m) => !ids.includes(m.instanceId));
      // As AWS does: a detached instance loses the tag naming its group.
      for (const id of ids) delete this.instances.get(id)?.tags['aws:autoscaling:groupName'];
      if (decrement) group.desired -= ids.length;
      while (group.members.length < group.desired) this.launchInto(group);
    },
    attachInstances: async (groupName, ids) => {
      const group = this.groups.get(groupName);
      if (!group) throw new Error(`no group ${groupName}`);
      for (const id of ids)
        group.members.push({
          instanceId: id,
          availabilityZone: 'us-east-1a',
          lifecycleState: 'InService',
          healthStatus: 'Healthy',
        });
      group.desired += ids.length;
    },
    updateGroup: async () => {},
    putGroupTags: async () => {},
    deleteGroupTags: async () => {},
    describeScalingActivities: async () => [],
    completeLifecycleAction: async (ref, result) => {
      this.check('completeLifecycleAction');
      const key = `${ref.groupName}/${ref.hookName}/${ref.instanceId}/${ref.token}`;
      if (this.completedTokens.has(key)) {
        throw new CloudError(
          'CompleteLifecycleAction',
          'completing',
          'ValidationError',
          false,
          new Error(`No active Lifecycle Action found with instance ID ${ref.instanceId}`),
        );
      }
      this.completedTokens.add(key);
      this.completions.push({ ref, result });
    },
    recordLifecycleActionHeartbeat: async (ref) => {
      this.heartbeats.push({ ref, at: this.clock.now().getTime() });
    },
    describeHookHeartbeatSeconds: async (groupName, hookName) =>
      this.hookTimeouts.get(`${groupName}/${hookName}`),
  };

  readonly ec2: Ec2Port = {
    describeInstances: async (ids) => {
      this.check('describeInstances');
      return ids.flatMap((id) => {
        const i = this.instances.get(id);
        return i ? [structuredClone(i)] : [];
      });
    },
    createTags: async (ids, tags) => {
      this.check('createTags');
      for (const id of ids) {
        const i = this.instances.get(id);
        if (!i) throw new CloudError('CreateTags', `tagging ${id}`, 'InvalidInstanceID.NotFound', false);
        Object.assign(i.tags, tags);
      }
      this.tagCalls.push({ ids: [...ids], tags: { ...tags } });
    },
    deleteTags: unsupported,
    runInstances: unsupported,
    startInstances: unsupported,
    stopInstances: unsupported,
    terminateInstances: unsupported,
    describeVolumes: unsupported,
    attachVolume: unsupported,
    detachVolume: unsupported,
    createVolume: unsupported,
    createSnapshot: unsupported,
    describeSnapshots: unsupported,
    deleteSnapshot: unsupported,
    describeLaunchTemplateVersion: unsupported,
  };

  readonly queue: QueuePort = {
    receive: async (url: string, opts: ReceiveOptions): Promise<QueueMessage[]> => {
      this.check('receive');
      for (;;) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        const now = this.clock.now().getTime();
        const visible = (this.messages.get(url) ?? [])
          .filter((m) => m.visibleAt <= now)
          .slice(0, opts.maxMessages);
        if (visible.length > 0) {
          return visible.map((m) => {
            m.receipt = randomUUID();
            m.receiveCount++;
            m.visibleAt = now + (opts.visibilityTimeoutSeconds ?? 30) * 1000;
            return { messageId: m.id, receiptHandle: m.receipt, body: m.body, receiveCount: m.receiveCount };
          });
        }
        // Wait for a send, an abort, or (for invisible messages) a short while.
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.waiting.delete(wake);
            opts.signal?.removeEventListener('abort', wake);
            clearTimeout(t);
            resolve();
          };
          const t = setTimeout(wake, 20);
          this.waiting.add(wake);
          opts.signal?.addEventListener('abort', wake, { once: true });
        });
      }
    },
    delete: async (url, receipt) => {
      const list = this.messages.get(url) ?? [];
      const m = list.find((x) => x.receipt === receipt);
      if (m) {
        this.deleted.push(m.id);
        this.messages.set(
          url,
          list.filter((x) => x !== m),
        );
      }
    },
    changeVisibility: async (url, receipt, seconds) => {
      const m = (this.messages.get(url) ?? []).find((x) => x.receipt === receipt);
      if (m) m.visibleAt = this.clock.now().getTime() + seconds * 1000;
    },
    send: async (url, body) => {
      const id = randomUUID();
      const list = this.messages.get(url) ?? [];
      list.push({ id, body, receipt: '', visibleAt: 0, receiveCount: 0 });
      this.messages.set(url, list);
      for (const w of [...this.waiting]) w();
      return id;
    },
    check: async () => {},
  };

  readonly metrics = {
    record: (d: MetricDatum) => {
      this.metricsRecorded.push(d);
    },
    flush: async () => {
      this.metricFlushes++;
    },
  };

  get cloud(): Cloud {
    return {
      region: this.region,
      autoscaling: this.autoscaling,
      ec2: this.ec2,
      tagging: { findResourceIds: async () => [] },
      queue: this.queue,
      metrics: this.metrics,
    };
  }

  metricSum(name: string, dims: Record<string, string> = {}): number {
    return this.metricsRecorded
      .filter((d) => d.name === name && Object.entries(dims).every(([k, v]) => d.dimensions?.[k] === v))
      .reduce((a, d) => a + d.value, 0);
  }

  queued(url: string): number {
    return (this.messages.get(url) ?? []).length;
  }
}

async function unsupported(): Promise<never> {
  throw new Error('not used by the fast path');
}
