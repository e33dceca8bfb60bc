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
    /** Glob patterns (`*`, `?`) on the ASG name. */
    names: z.array(z.string().min(1)).optional(),
    /** Tags the ASG must carry with exactly these values. */
    tags: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const specSchema = z
  .object({
    match: matchSchema.optional(),
    /** Resolve targets and log actions, change nothing. */
    dryRun: z.boolean().default(false),
    interruption: z
      .object({
        /** Seconds after the warning's event time before the detach; must leave time inside the 120 s warning. */
        detachDelaySeconds: seconds(119).default(0),
      })
      .strict()
      .prefault({}),
    replacement: z
      .object({
        /** Voluntary replacements in flight per group (seed: max_num_of_terminated_one_time). */
        maxConcurrent: z.number().int().min(1).max(100).default(1),
        /** How long to wait for a replacement to be InService before giving up on it. */
        readyTimeoutMinutes: z.number().int().min(1).max(120).default(15),
      })
      .strict()
      .prefault({}),
    rebalance: z
      .object({
        /** What a rebalance recommendation or a scheduled change does (seed: is_enable_preaction). */
        action: z.enum(['ignore', 'cordon', 'replace']).default('ignore'),
        detachDelaySeconds: seconds(3600).default(0),
        terminateDelaySeconds: seconds(3600).default(0),
      })
      .strict()
      .prefault({}),
    kubernetes: z
      .object({
        enabled: z.boolean().default(false),
        kubeconfig: z.string().min(1).optional(),
        /** The seed's kubectl drain flags; `--ignore-daemonsets`, `--delete-emptydir-data`, `--force` are honoured. */
        drainOption: z
          .string()
          .refine((flags) => unsupportedDrainFlags(flags).length === 0, {
            error: (iss) =>
              `unsupported drain flag ${unsupportedDrainFlags(String(iss.input)).join(', ')}; supported: ${DRAIN_FLAGS.join(', ')}`,
          })
          .optional(),
        drainTimeoutSeconds: seconds(3600).default(90),
        taintKey: z.string().min(1).default('spotmax.io/interruption'),
        /** Add node.kubernetes.io/out-of-service after termination so stateful pods fail over promptly. */
        outOfServiceTaint: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    consul: z
      .object({
        enabled: z.boolean().default(false),
        port: z.number().int().min(1).max(65535).default(8500),
        /** Where the instance's agent listens; {privateIp} and {port} are filled in. */
        address: z.string().min(1).default('{privateIp}:{port}'),
        /** Central Consul (host:port) for catalog deregistration when the agent cannot be reached. */
        centralAddress: z.string().min(1).optional(),
        tokenFile: z.string().min(1).optional(),
        tokenEnv: z.string().min(1).optional(),
        timeoutSeconds: z.number().int().min(1).max(60).default(5),
      })
      .strict()
      .prefault({}),
    standby: z
      .object({
        size: z.number().int().min(0).max(100).default(0),
        state: z.enum(['stopped', 'hibernated']).default('stopped'),
        startTimeoutSeconds: z.number().int().min(1).max(600).default(60),
      })
      .strict()
      .prefault({}),
    lifetime: z
      .object({
        /** No instance lives past this (seed: instance_duration_hours). */
        durationHours: z
          .number()
          .positive()
          .max(24 * 365)
          .optional(),
        /** Replacement starts once an instance is this old (seed: gurantee_living_mins). */
        guaranteeMinutes: z.number().int().min(1).optional(),
        /** With durationHours only: start replacing this long before the limit. */
        leadMinutes: z.number().int().min(0).max(1440).default(10),
      })
      .strict()
      .prefault({}),
    persistentVolume: z
      .object({
        /** Device name of the group's persistent volume (seed: persistence_dev). Unset: no persistent volume. */
        device: z.string().min(1).optional(),
        /** Device the volume is attached as; the seed's in-instance script waits for /dev/xvdz. */
        attachAs: z.string().min(1).default('/dev/xvdz'),
        snapshotIntervalMinutes: z.number().int().min(0).default(0),
        snapshotRetain: z.number().int().min(1).max(1000).default(3),
        crossAzAfterMinutes: z.number().int().min(1).default(30),
      })
      .strict()
      .prefault({}),
    onDemandFallback: z
      .object({
        enabled: z.boolean().default(false),
        afterSeconds: seconds().default(120),
        returnToSpot: z.boolean().default(true),
        returnCheckMinutes: z.number().int().min(1).default(15),
        /** On-Demand instances replaced by Spot at a time after a return. */
        returnBatchSize: z.number().int().min(1).max(100).default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((spec, ctx) => {
    // Rules across fields. They run on the merged result too (defaults < policy < tags), so a tag
    // cannot produce a combination a policy file could not.
    if (spec.kubernetes.enabled && !spec.kubernetes.kubeconfig) {
      ctx.addIssue({
        code: 'custom',
        path: ['kubernetes', 'kubeconfig'],
        message: 'kubernetes.enabled needs kubernetes.kubeconfig (the kubeconfig spotmax drains nodes with)',
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
          ),
        description: z.string().optional(),
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
