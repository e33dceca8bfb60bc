import { SpotmaxError, TerminalError } from '../../../domain/errors.js';
import type { Group, Instance } from '../../../domain/types.js';
import type { ExecContext } from '../executor.js';

// Handlers re-read what they are about to change: a plan can be a minute old, and the record on AWS is
// the truth a resumed step must follow.

export async function freshGroup(ctx: ExecContext, name: string): Promise<Group> {
  const [group] = await ctx.cloud.autoscaling.describeGroups([name]);
  if (!group) throw new TerminalError(`group ${name} no longer exists`);
  return group;
}

export async function freshInstance(ctx: ExecContext, id: string): Promise<Instance | undefined> {
  try {
    const [instance] = await ctx.cloud.ec2.describeInstances([id]);
    return instance;
  } catch (err) {
    throw new SpotmaxError(`describing ${id}`, { cause: err });
  }
}
