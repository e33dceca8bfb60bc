import type { Group, ScalingActivity } from '../domain/types.js';
import type {
  AutoScalingPort,
  GroupUpdate,
  InstanceRefresh,
  LifecycleActionRef,
} from '../ports/autoscaling.js';
import type { SimApi } from './api.js';
import { describeRefresh } from './asg-refresh.js';
import type { AsgState } from './asg-state.js';
import { checkDeletable, checkTagCount, checkTags } from './tag-rules.js';

/** The Auto Scaling port of the simulated region: each call counted, rate limited and faultable. */
export class SimAutoScaling implements AutoScalingPort {
  constructor(
    private readonly state: AsgState,
    private readonly api: SimApi,
  ) {}

  async describeGroups(names?: string[]): Promise<Group[]> {
    // One request per page of 100, as the API pages; unknown names are simply absent, as in AWS.
    const all = names
      ? names.map((n) => this.state.groups.get(n)).filter((g) => g !== undefined)
      : [...this.state.groups.values()];
    const out: Group[] = [];
    const pages = Math.max(1, Math.ceil((names?.length ?? all.length) / 100));
    for (let p = 0; p < pages; p++) {
      const page = all.slice(p * 100, (p + 1) * 100);
      out.push(
        ...(await this.api.call(
          'autoscaling',
          'DescribeAutoScalingGroups',
          'describing Auto Scaling groups',
          () => page.map((g) => this.state.toGroup(g)),
        )),
      );
    }
    return out;
  }

  detachInstances(groupName: string, instanceIds: string[], decrementDesired: boolean): Promise<void> {
    return this.api.call(
      'autoscaling',
      'DetachInstances',
      `detaching ${instanceIds.join(', ')} from ${groupName}`,
      () => this.state.detach(groupName, instanceIds, decrementDesired),
    );
  }

  attachInstances(groupName: string, instanceIds: string[]): Promise<void> {
    return this.api.call(
      'autoscaling',
      'AttachInstances',
      `attaching ${instanceIds.join(', ')} to ${groupName}`,
      () => this.state.attach(groupName, instanceIds),
    );
  }

  updateGroup(groupName: string, update: GroupUpdate): Promise<void> {
    return this.api.call('autoscaling', 'UpdateAutoScalingGroup', `updating ${groupName}`, () =>
      this.state.update(groupName, update),
    );
  }

  putGroupTags(
    groupName: string,
    tags: { key: string; value: string; propagateAtLaunch: boolean }[],
  ): Promise<void> {
    return this.api.call('autoscaling', 'CreateOrUpdateTags', `tagging ${groupName}`, () => {
      const g = this.state.mustGet(groupName);
      checkTags('autoscaling', Object.fromEntries(tags.map((t) => [t.key, t.value])));
      checkTagCount(
        'autoscaling',
        g.tags.keys(),
        tags.map((t) => t.key),
      );
      for (const t of tags) g.tags.set(t.key, { value: t.value, propagateAtLaunch: t.propagateAtLaunch });
      g.snapshot = undefined;
    });
  }

  deleteGroupTags(groupName: string, keys: string[]): Promise<void> {
    return this.api.call('autoscaling', 'DeleteTags', `removing tags from ${groupName}`, () => {
      const g = this.state.mustGet(groupName);
      checkDeletable('autoscaling', keys);
      for (const k of keys) g.tags.delete(k);
      g.snapshot = undefined;
    });
  }

  describeScalingActivities(groupName: string, maxRecords = 100): Promise<ScalingActivity[]> {
    return this.api.call(
      'autoscaling',
      'DescribeScalingActivities',
      `reading scaling activities of ${groupName}`,
      () => {
        const g = this.state.groups.get(groupName);
        return (g?.activities ?? []).slice(0, Math.min(100, maxRecords)).map((a) => ({ ...a }));
      },
    );
  }

  describeInstanceRefreshes(groupName: string): Promise<InstanceRefresh[]> {
    return this.api.call(
      'autoscaling',
      'DescribeInstanceRefreshes',
      `reading instance refreshes of ${groupName}`,
      () => (this.state.mustGet(groupName).refreshes ?? []).map(describeRefresh),
    );
  }

  completeLifecycleAction(ref: LifecycleActionRef, result: 'CONTINUE' | 'ABANDON'): Promise<void> {
    return this.api.call(
      'autoscaling',
      'CompleteLifecycleAction',
      `completing ${ref.hookName} for ${ref.instanceId} in ${ref.groupName}`,
      () => this.state.complete(ref.groupName, ref.hookName, ref.instanceId, ref.token, result),
    );
  }

  recordLifecycleActionHeartbeat(ref: LifecycleActionRef): Promise<void> {
    return this.api.call(
      'autoscaling',
      'RecordLifecycleActionHeartbeat',
      `heartbeat of ${ref.hookName} for ${ref.instanceId} in ${ref.groupName}`,
      () => this.state.heartbeat(ref.groupName, ref.hookName, ref.instanceId, ref.token),
    );
  }

  describeHookHeartbeatSeconds(groupName: string, hookName: string): Promise<number | undefined> {
    return this.api.call(
      'autoscaling',
      'DescribeLifecycleHooks',
      `reading hook ${hookName} of ${groupName}`,
      () => {
        const g = this.state.groups.get(groupName);
        return g?.hooks.find((h) => h.name === hookName)?.heartbeatTimeoutSeconds;
      },
    );
  }
}
