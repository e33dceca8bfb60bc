import type {
  Activity,
  AutoScalingGroup,
  LaunchTemplateSpecification,
  InstanceRefresh as SdkInstanceRefresh,
  MixedInstancesPolicy as SdkMixedInstancesPolicy,
} from '@aws-sdk/client-auto-scaling';
import type { Group, LaunchTemplateRef, MixedInstancesPolicy, ScalingActivity } from '../domain/types.js';
import type { InstanceRefresh } from '../ports/autoscaling.js';

// Translation from Auto Scaling SDK shapes to the domain types. The mixed policy is only read: spotmax
// never sends it back (see GroupUpdate in ports/autoscaling.ts).

export function toTemplateRef(spec: LaunchTemplateSpecification | undefined): LaunchTemplateRef | undefined {
  if (!spec || (!spec.LaunchTemplateId && !spec.LaunchTemplateName)) return undefined;
  return { id: spec.LaunchTemplateId, name: spec.LaunchTemplateName, version: spec.Version };
}

export function fromTemplateRef(ref: LaunchTemplateRef): LaunchTemplateSpecification {
  // The API takes an id or a name, not both.
  return ref.id
    ? { LaunchTemplateId: ref.id, Version: ref.version }
    : { LaunchTemplateName: ref.name, Version: ref.version };
}

export function toMixedPolicy(p: SdkMixedInstancesPolicy | undefined): MixedInstancesPolicy | undefined {
  const lt = p?.LaunchTemplate;
  const spec = toTemplateRef(lt?.LaunchTemplateSpecification);
  if (!p || !spec) return undefined;
  const d = p.InstancesDistribution ?? {};
  return {
    launchTemplate: spec,
    overrides: (lt?.Overrides ?? []).map((o) => ({
      instanceType: o.InstanceType,
      weightedCapacity: o.WeightedCapacity,
      launchTemplate: toTemplateRef(o.LaunchTemplateSpecification),
      instanceRequirements: o.InstanceRequirements ? { ...o.InstanceRequirements } : undefined,
    })),
    instancesDistribution: {
      onDemandAllocationStrategy: d.OnDemandAllocationStrategy,
      onDemandBaseCapacity: d.OnDemandBaseCapacity,
      onDemandPercentageAboveBaseCapacity: d.OnDemandPercentageAboveBaseCapacity,
      spotAllocationStrategy: d.SpotAllocationStrategy,
      spotInstancePools: d.SpotInstancePools,
      spotMaxPrice: d.SpotMaxPrice,
    },
  };
}

export function toGroup(g: AutoScalingGroup): Group {
  return {
    name: g.AutoScalingGroupName ?? '',
    arn: g.AutoScalingGroupARN,
    desired: g.DesiredCapacity ?? 0,
    min: g.MinSize ?? 0,
    max: g.MaxSize ?? 0,
    launchTemplate: toTemplateRef(g.LaunchTemplate),
    launchConfigurationName: g.LaunchConfigurationName,
    mixedInstancesPolicy: toMixedPolicy(g.MixedInstancesPolicy),
    availabilityZones: g.AvailabilityZones ?? [],
    subnetIds: (g.VPCZoneIdentifier ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    tags: (g.Tags ?? []).map((t) => ({
      key: t.Key ?? '',
      value: t.Value ?? '',
      propagateAtLaunch: t.PropagateAtLaunch ?? false,
    })),
    members: (g.Instances ?? []).map((i) => ({
      instanceId: i.InstanceId ?? '',
      availabilityZone: i.AvailabilityZone ?? '',
      lifecycleState: i.LifecycleState ?? 'Unknown',
      healthStatus: i.HealthStatus ?? 'Unknown',
      instanceType: i.InstanceType,
      launchTemplate: toTemplateRef(i.LaunchTemplate),
      protectedFromScaleIn: i.ProtectedFromScaleIn,
      ...(i.WeightedCapacity !== undefined ? { weightedCapacity: Number(i.WeightedCapacity) } : {}),
    })),
    createdTime: g.CreatedTime,
    capacityRebalance: g.CapacityRebalance ?? false,
    suspendedProcesses: (g.SuspendedProcesses ?? []).map((p) => p.ProcessName ?? '').filter(Boolean),
    ...(g.DesiredCapacityType ? { desiredCapacityType: g.DesiredCapacityType } : {}),
    ...(g.MaxInstanceLifetime ? { maxInstanceLifetime: g.MaxInstanceLifetime } : {}),
    warmPool: g.WarmPoolConfiguration !== undefined,
    ...(g.Status ? { status: g.Status } : {}),
  };
}

/** An instance refresh as DescribeInstanceRefreshes reports it (InstanceRefresh, API reference). */
export function toInstanceRefresh(r: SdkInstanceRefresh): InstanceRefresh {
  return {
    id: r.InstanceRefreshId ?? '',
    status: r.Status ?? 'Unknown',
    ...(r.StatusReason ? { statusReason: r.StatusReason } : {}),
    ...(r.StartTime ? { startTime: r.StartTime } : {}),
    ...(r.EndTime ? { endTime: r.EndTime } : {}),
    ...(r.PercentageComplete !== undefined ? { percentageComplete: r.PercentageComplete } : {}),
    ...(r.InstancesToUpdate !== undefined ? { instancesToUpdate: r.InstancesToUpdate } : {}),
  };
}

export function toActivity(a: Activity): ScalingActivity {
  return {
    activityId: a.ActivityId ?? '',
    groupName: a.AutoScalingGroupName ?? '',
    statusCode: a.StatusCode ?? 'Unknown',
    statusMessage: a.StatusMessage,
    description: a.Description,
    startTime: a.StartTime ?? new Date(0),
    endTime: a.EndTime,
  };
}
