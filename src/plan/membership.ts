import type { Action } from '../domain/actions.js';
import { GROUP_TAG } from '../domain/tags.js';
import type { Group, Instance } from '../domain/types.js';

/**
 * Membership tags: every member carries spotmax:group=<asg> (in-instance scripts read it), and the
 * group propagates that tag at launch so new members carry it from their first second.
 */
export function planMembership(group: Group, instances: ReadonlyMap<string, Instance>): Action[] {
  const actions: Action[] = [];
  const tag = group.tags.find((t) => t.key === GROUP_TAG);
  if (!tag || tag.value !== group.name || !tag.propagateAtLaunch) {
    const why = !tag
      ? `missing ${GROUP_TAG}=${group.name} with PropagateAtLaunch`
      : tag.value !== group.name
        ? `${GROUP_TAG} is "${tag.value}", not "${group.name}"`
        : `${GROUP_TAG} is not propagated at launch`;
    actions.push({
      kind: 'tag-group',
      group: group.name,
      target: group.name,
      tags: [{ key: GROUP_TAG, value: group.name, propagateAtLaunch: true }],
      reason: why,
    });
  }
  for (const member of group.members) {
    const instance = instances.get(member.instanceId);
    // An instance we could not describe, or one on its way out, is not worth tagging.
    if (!instance || instance.state === 'terminated' || instance.state === 'shutting-down') continue;
    if (instance.tags[GROUP_TAG] !== group.name) {
      actions.push({
        kind: 'tag-instance',
        group: group.name,
        target: member.instanceId,
        tags: { [GROUP_TAG]: group.name },
        reason: instance.tags[GROUP_TAG]
          ? `${GROUP_TAG} is "${instance.tags[GROUP_TAG]}", not "${group.name}"`
          : `missing ${GROUP_TAG}=${group.name}`,
      });
    }
  }
  return actions;
}
