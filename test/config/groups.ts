import type { Group } from '../../src/domain/types.js';

/** A suitable group (launch template) with the given tags; override anything else. */
export function group(name: string, tags: Record<string, string> = {}, extra: Partial<Group> = {}): Group {
  return {
    name,
    desired: 2,
    min: 1,
    max: 4,
    launchTemplate: { id: 'lt-0123456789abcdef0', version: '$Latest' },
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    subnetIds: [],
    tags: Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
    members: [],
    ...extra,
  };
}
