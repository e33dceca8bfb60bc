import { z } from 'zod';

// The policy schema is the truth for every option: defaults live here, JSON Schema for editors is
// generated from it (policies/schema.json), and `config` keys in `plan` are its dotted paths.

/** The kubectl drain flags spotmax honours; anything else would be silently ignored, so it is refused. */
export const DRAIN_FLAGS = ['--ignore-daemonsets', '--delete-emptydir-data', '--force'] as const;

export function unsupportedDrainFlags(flags: string): string[] {
  return flags
    .split(/\s+/)
    .filter((f) => f !== '')
    .filter((f) => !(DRAIN_FLAGS as readonly string[]).includes(f.replace(/=true$/, '')));
}

const seconds = (max?: number) =>
  max === undefined ? z.number().int().min(0) : z.number().int().min(0).max(max);

export const matchSchema = z
  .object({
    names: z
      .array(z.string().min(1))
      .optional()
      .describe('Glob patterns (*, ?) on the ASG name; one must match.'),
    tags: z
      .record(z.string(), z.string())
      .optional()
      .describe('Tags the ASG must carry with exactly these values.'),
  })
  .strict();

export const specSchema = z
  .object({
    match: matchSchema
      .optional()
      .describe(
        'Groups this policy applies to, unless a group names its policy with the spotmax:policy tag.',
      ),
    dryRun: z.boolean().default(false).describe('Resolve targets and log actions; change nothing.'),
    interruption: z
      .object({
        detachDelaySeconds: seconds(119)
          .default(0)
          .describe(
            "Seconds after the Spot warning's event time before the instance is detached (0-119: inside the 2-minute warning). Seed: detaching_delay_seconds.",
          ),
      })
      .strict()
      .prefault({}),
    replacement: z
      .object({
        maxConcurrent: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(1)
          .describe(
            'Voluntary replacements (lifetime, return to Spot, rebalance) in flight per group; interruptions are never held back. Seed: max_num_of_terminated_one_time.',
          ),
        readyTimeoutMinutes: z
          .number()
          .int()
          .min(1)
          .max(120)
          .default(15)
          .describe('How long a replacement may take to be InService before it is given up.'),
      })
      .strict()
      .prefault({}),
    rebalance: z
      .object({
        action: z
          .enum(['ignore', 'cordon', 'replace'])
          .default('ignore')
          .describe(
            'On a rebalance recommendation or scheduled change: ignore, cordon (release the instance) or replace (launch a replacement first, then retire). Seed: is_enable_preaction.',
          ),
        detachDelaySeconds: seconds(3600)
          .default(0)
          .describe(
            'With replace: delay before the old instance is detached. Seed: preaction_detach_delay_seconds.',
          ),
        terminateDelaySeconds: seconds(3600)
          .default(0)
          .describe(
            'With replace: delay before the old instance is terminated. Seed: preaction_termination_delay_seconds.',
          ),
      })
      .strict()
      .prefault({}),
    kubernetes: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Cordon, taint and drain the node before its instance goes. Needs kubeconfig or eks.'),
        kubeconfig: z
          .string()
          .min(1)
          .optional()
          .describe('Path of the kubeconfig spotmax uses. Seed: k8s_config_file_path.'),
        eks: z
          .object({
            cluster: z.string().min(1).max(100).describe('Name of the EKS cluster whose nodes are drained.'),
            region: z
              .string()
              .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, { error: 'expected an AWS region such as eu-west-1' })
              .optional()
              .describe("The cluster's region; default: the region spotmax works in."),
          })
          .strict()
          .optional()
          .describe(
            "Reach an EKS cluster without a kubeconfig: endpoint and CA from eks:DescribeCluster, a bearer token signed with spotmax's own AWS credentials. A kubeconfig, when set, is used instead.",
          ),
        drainOption: z
          .string()
          .refine((flags) => unsupportedDrainFlags(flags).length === 0, {
            error: (iss) =>
              `unsupported drain flag ${unsupportedDrainFlags(String(iss.input)).join(', ')}; supported: ${DRAIN_FLAGS.join(', ')}`,
          })
          .optional()
          .describe(
            'kubectl drain flags (seed: k8s_node_drain_option); --ignore-daemonsets, --delete-emptydir-data and --force are honoured.',
          ),
        drainTimeoutSeconds: seconds(3600)
          .default(90)
          .describe('Longest time a drain may take; the interruption deadline bounds it too.'),
        taintKey: z
          .string()
          .min(1)
          .default('spotmax.io/interruption')
          .describe('Taint put on a node that is about to go.'),
        outOfServiceTaint: z
          .boolean()
          .default(false)
          .describe(
            'Add node.kubernetes.io/out-of-service after termination so stateful pods fail over promptly.',
          ),
      })
      .strict()
      .prefault({}),
    consul: z
      .object({
        enabled: z.boolean().default(false).describe('Deregister the instance from Consul before it goes.'),
        port: z
          .number()
          .int()
          .min(1)
          .max(65535)
          .default(8500)
          .describe("Port of the instance's Consul agent. Seed: consul_port."),
        address: z
          .string()
          .min(1)
          .default('{privateIp}:{port}')
          .describe(
            "Where the instance's agent listens; {privateIp} and {port} are filled in. Policy files only, never a tag.",
          ),
        centralAddress: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Central Consul (host:port) for catalog deregistration when the agent cannot be reached. Policy files only.',
          ),
        tokenFile: z
          .string()
          .min(1)
          .optional()
          .describe('File with the Consul ACL token. Policy files only.'),
        tokenEnv: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Environment variable of the spotmax process that holds the Consul ACL token. Policy files only.',
          ),
        timeoutSeconds: z.number().int().min(1).max(60).default(5).describe('Timeout of each Consul call.'),
      })
      .strict()
      .prefault({}),
    standby: z
      .object({
        size: z
          .number()
          .int()
          .min(0)
          .max(100)
          .default(0)
          .describe(
            'On-Demand instances kept stopped or hibernated outside the group and started when a member is interrupted.',
          ),
        state: z
          .enum(['stopped', 'hibernated'])
          .default('stopped')
          .describe('stopped, or hibernated when the launch template allows hibernation.'),
        startTimeoutSeconds: z
          .number()
          .int()
          .min(1)
          .max(600)
          .default(60)
          .describe('How long a standby may take to be running before it is given up.'),
        readiness: z
          .object({
            tag: z
              .string()
              .min(1)
              .max(128)
              .optional()
              .describe(
                "Instance tag the standby's bootstrap (user data) writes when it is done; the standby is stopped only then. Without it, a standby is stopped once its EC2 status checks pass.",
              ),
            timeoutSeconds: z
              .number()
              .int()
              .min(60)
              .max(7200)
              .default(900)
              .describe(
                'A standby not ready this long after launch is terminated (and replaced) instead of stopped mid-bootstrap.',
              ),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    lifetime: z
      .object({
        durationHours: z
          .number()
          .positive()
          .max(24 * 365)
          .optional()
          .describe(
            'No instance lives past this, give or take the minutes its replacement takes: members past it are replaced beyond replacement.maxConcurrent, up to a tenth of the group at a time. Seed: instance_duration_hours.',
          ),
        guaranteeMinutes: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe(
            'Replacement starts once an instance is this old; less than durationHours x 60. Seed: gurantee_living_mins.',
          ),
        leadMinutes: z
          .number()
          .int()
          .min(0)
          .max(1440)
          .default(10)
          .describe('With durationHours only: start replacing this long before the limit.'),
      })
      .strict()
      .prefault({}),
    persistentVolume: z
      .object({
        device: z
          .string()
          .min(1)
          .optional()
          .describe(
            "Device of the group's persistent EBS volume in the launch template; each member's volume there is adopted (DeleteOnTermination false) and moved after an interruption. Unset: no persistent volume. Seed: persistence_dev.",
          ),
        attachAs: z
          .string()
          .min(1)
          .default('/dev/xvdz')
          .describe(
            "Device a moved volume is attached as on its new member (beside the member's own volume at device); deploy/instance/ finds it by volume id, whatever the name (NVMe on Nitro).",
          ),
        snapshotIntervalMinutes: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe(
            'Minutes between snapshots of each volume; 0: none. Seed: preaction_snapshot_interval_minutes.',
          ),
        snapshotRetain: z.number().int().min(1).max(1000).default(3).describe('Snapshots kept per volume.'),
        crossAzAfterMinutes: z
          .number()
          .int()
          .min(1)
          .default(30)
          .describe(
            'How long a volume may wait for capacity in its AZ before it is recreated from a snapshot in another AZ.',
          ),
      })
      .strict()
      .prefault({}),
    lifecycleHooks: z
      .object({
        owned: z
          .array(z.string().min(1))
          .min(1)
          .default(['spotmax-*'])
          .describe(
            "Glob patterns (*, ?) on lifecycle hook names spotmax completes. A hook of another owner (CodeDeploy's, another handler's) is never completed by spotmax: its owner decides when the instance may go on.",
          ),
      })
      .strict()
      .prefault({}),
    onDemandFallback: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Shift the group to On-Demand when Spot capacity cannot be had.'),
        afterSeconds: seconds()
          .default(120)
          .describe('How long the group must stay short, with Spot capacity errors, before the shift.'),
        returnToSpot: z.boolean().default(true).describe('Go back to Spot when capacity returns.'),
        returnCheckMinutes: z
          .number()
          .int()
          .min(1)
          .default(15)
          .describe('How often to check whether Spot capacity is back.'),
        returnBatchSize: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(1)
          .describe('On-Demand instances replaced by Spot at a time after a return.'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((spec, ctx) => {
    // Rules across fields. They run on the merged result too (defaults < policy < tags), so a tag
    // cannot produce a combination a policy file could not.
    if (spec.kubernetes.enabled && !spec.kubernetes.kubeconfig && !spec.kubernetes.eks) {
      ctx.addIssue({
        code: 'custom',
        path: ['kubernetes', 'kubeconfig'],
        message:
          'kubernetes.enabled needs kubernetes.kubeconfig (a kubeconfig file) or kubernetes.eks (an EKS cluster name) to reach the cluster',
      });
    }
    const { durationHours, guaranteeMinutes } = spec.lifetime;
    if (
      durationHours !== undefined &&
      guaranteeMinutes !== undefined &&
      guaranteeMinutes >= durationHours * 60
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['lifetime', 'guaranteeMinutes'],
        message: `lifetime.guaranteeMinutes (${guaranteeMinutes}) must be less than lifetime.durationHours × 60 (${durationHours * 60}), so replacement starts before the limit`,
      });
    }
  });

export const groupPolicySchema = z
  .object({
    apiVersion: z.literal('spotmax/v1'),
    kind: z.literal('GroupPolicy'),
    metadata: z
      .object({
        name: z
          .string()
          .min(1)
          .regex(
            /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
            'must be letters, digits, ".", "_" and "-", starting with a letter or digit',
          )
          .describe('Policy name; a group can name it with the spotmax:policy tag.'),
        description: z.string().optional().describe('Free text for people.'),
      })
      .strict(),
    spec: specSchema.prefault({}),
  })
  .strict();

export type GroupPolicyInput = z.input<typeof groupPolicySchema>;
export type GroupPolicy = z.output<typeof groupPolicySchema>;
/** The effective settings of one group, every default filled in. */
export type GroupSettings = Omit<z.output<typeof specSchema>, 'match'>;

export function defaultSettings(): GroupSettings {
  const { match: _match, ...rest } = specSchema.parse({});
  return rest;
}
