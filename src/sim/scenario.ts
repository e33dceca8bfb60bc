import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cron from 'node-cron';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../domain/errors.js';

// A what-if scenario: the groups, the Spot market (hazards, storms, outages), how long to play, and the
// strategies to compare. Durations are seconds or strings like "90s", "5m", "2h", "1h30m".

const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/;

export function parseDuration(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = DURATION.exec(v.trim());
  if (!m || v.trim() === '')
    throw new Error(`"${v}" is not a duration (examples: 90, "90s", "5m", "2h", "1h30m")`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const duration = z.union([z.number().min(0), z.string()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const distribution = z.object({ median: z.number().positive(), p99: z.number().positive() }).strict();
const share = z.number().min(0).max(1);

const hookSchema = z
  .object({
    name: z.string().min(1),
    transition: z.enum(['launching', 'terminating']),
    heartbeatTimeoutSeconds: z.number().int().min(30).max(7200).default(300),
    defaultResult: z.enum(['CONTINUE', 'ABANDON']).default('CONTINUE'),
  })
  .strict();

const groupSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"'),
    /** Play this group `count` times, named <name>-01 ... (for scale scenarios). */
    count: z.number().int().min(1).max(1000).default(1),
    instanceTypes: z.array(z.string().min(1)).min(1),
    azs: z.array(z.string().min(1)).min(1),
    desired: z.number().int().min(0),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(0).optional(),
    onDemandBase: z.number().int().min(0).default(0),
    onDemandPercentage: z.number().int().min(0).max(100).default(0),
    boot: distribution.default({ median: 90, p99: 180 }),
    hibernation: z.boolean().default(false),
    /** ASG tags, e.g. spotmax:policy. */
    tags: z.record(z.string(), z.string()).default({}),
    /** Already adopted by spotmax: the group propagates spotmax:group at launch, so members start tagged. */
    adopted: z.boolean().default(false),
    lifecycleHooks: z.array(hookSchema).default([]),
    /** The ASG's CapacityRebalance: it replaces an instance on a rebalance recommendation itself. */
    capacityRebalance: z.boolean().default(false),
    /** Suspended scaling processes (Launch, Terminate, AZRebalance, ...). */
    suspendedProcesses: z.array(z.string()).default([]),
    /** WeightedCapacity per instance type: desired, min and max then count units. */
    weights: z.record(z.string(), z.number().int().min(1).max(999)).optional(),
    /** The ASG's DesiredCapacityType: units (default), or vcpu / memory-mib (each member counts its size). */
    desiredCapacityType: z.enum(['units', 'vcpu', 'memory-mib']).optional(),
    persistentVolume: z
      .object({
        sizeGiB: z.number().int().min(1).default(100),
        device: z.string().default('/dev/sdf'),
        /**
         * The seed's way: the launch template maps a second EBS volume at `device` (DeleteOnTermination
         * true, as AWS defaults), so every instance launches with its own; otherwise one standalone
         * volume tagged spotmax:group is created in the group's first AZ.
         */
        inTemplate: z.boolean().default(false),
      })
      .strict()
      .optional(),
  })
  .strict();

const priceSchema = z.object({ onDemand: z.number().positive(), spot: z.number().positive() }).strict();

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    region: z.string().default('us-east-1'),
    start: z.iso.datetime().default('2026-01-05T00:00:00Z'),
    duration,
    seed: z.number().int().default(1),
    prices: z.record(z.string(), priceSchema).default({}),
    groups: z.array(groupSchema).min(1),
    market: z
      .object({
        hazardPerHour: z.number().min(0).default(0.02),
        hazards: z
          .array(
            z
              .object({
                instanceType: z.string().optional(),
                az: z.string().optional(),
                perHour: z.number().min(0),
              })
              .strict(),
          )
          .default([]),
        storms: z
          .array(
            z
              .object({
                name: z.string().optional(),
                at: duration,
                instanceType: z.string().optional(),
                az: z.string().optional(),
                share: share.refine((s) => s > 0, 'a storm reclaims some share above 0'),
                within: duration.default(60),
              })
              .strict(),
          )
          .default([]),
        outages: z
          .array(
            z
              .object({
                name: z.string().optional(),
                from: duration,
                to: duration,
                az: z.string().optional(),
                instanceTypes: z.array(z.string()).optional(),
                onDemand: z.boolean().default(false),
              })
              .strict()
              .refine((o) => o.to > o.from, { message: 'an outage ends after it starts', path: ['to'] }),
          )
          .default([]),
        rebalance: z
          .object({ share, lead: duration.default(300) })
          .strict()
          .optional(),
        stateChangeEvents: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    timings: z
      .object({
        healthCheckSeconds: z.number().min(0).default(30),
        launchRetrySeconds: z.number().min(1).default(60),
        start: distribution.default({ median: 40, p99: 90 }),
        resume: distribution.default({ median: 12, p99: 30 }),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        visibilityTimeoutSeconds: z.number().int().min(0).max(43200).default(30),
        duplicateRate: share.default(0),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        autoscalingBucket: z
          .object({ capacity: z.number().positive(), refillPerSecond: z.number().positive() })
          .strict()
          .optional(),
        maxAttempts: z.number().int().min(1).max(10).default(3),
        /**
         * Eventual consistency: a just-launched instance is not found by id for this many seconds
         * (drawn per launch in [min, max]); { min: 0, max: 0 } turns it off.
         */
        launchVisibleAfter: z
          .object({ min: z.number().min(0).default(1), max: z.number().min(0).default(5) })
          .strict()
          .refine((v) => v.max >= v.min, { message: 'max is below min', path: ['max'] })
          .prefault({}),
        latencyMs: z.number().min(0).default(50),
        faults: z
          .record(
            z.string(),
            z.object({ errorRate: share.optional(), latencyMs: z.number().min(0).optional() }).strict(),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    strategies: z
      .array(z.enum(['asg-only', 'drain-only', 'spotmax']))
      .min(1)
      .default(['asg-only', 'drain-only', 'spotmax']),
    /** Policy folder for the spotmax strategy, relative to the scenario file. */
    policies: z.string().optional(),
    spotmax: z
      .object({
        /** The reconcile schedule, as `spotmax run --interval` takes it (a cron expression). */
        interval: z
          .string()
          .refine((e) => cron.validate(e), 'not a valid cron expression (for example "* * * * *")')
          .default('* * * * *'),
        pollers: z.number().int().min(1).max(16).default(2),
        concurrency: z.number().int().min(1).max(1000).default(64),
      })
      .strict()
      .prefault({}),
    /** How long drain-only's drain takes (a node termination handler cordoning and evicting). */
    drainSeconds: z.number().min(0).max(120).default(30),
  })
  .strict()
  .superRefine((s, ctx) => {
    s.groups.forEach((g, i) => {
      if (g.min !== undefined && g.min > g.desired)
        ctx.addIssue({
          code: 'custom',
          path: ['groups', i, 'min'],
          message: `min ${g.min} is above desired ${g.desired}`,
        });
      if (g.max !== undefined && g.max < g.desired)
        ctx.addIssue({
          code: 'custom',
          path: ['groups', i, 'max'],
          message: `max ${g.max} is below desired ${g.desired}`,
        });
      for (const t of g.instanceTypes) {
        if (!s.prices[t])
          ctx.addIssue({
            code: 'custom',
            path: ['groups', i, 'instanceTypes'],
            message: `no price for ${t} under prices:`,
          });
      }
    });
  });

export type Scenario = z.output<typeof scenarioSchema> & { file?: string; dir?: string };
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** Parses scenario YAML; errors name the file and line of each problem. */
export function parseScenario(text: string, file = '<scenario>'): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new UserError(`${file}:${pos ? `${pos.line}:${pos.col}` : '1'}: ${e.message.split('\n')[0]}`);
  }
  const result = scenarioSchema.safeParse(doc.toJS());
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      let line = 1;
      let col = 1;
      for (let n = issue.path.length; n >= 0; n--) {
        const node = doc.getIn(issue.path.slice(0, n) as (string | number)[], true);
        if (isNode(node) && node.range) {
          ({ line, col } = lineCounter.linePos(node.range[0]));
          break;
        }
      }
      const where = issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
      return `${file}:${line}:${col}: ${issue.message}${where}`;
    });
    throw new UserError(`invalid scenario:\n${lines.join('\n')}`);
  }
  return { ...result.data, file };
}

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read scenario ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { ...parseScenario(text, path), dir: dirname(resolve(path)) };
}

/** The groups a scenario plays, with `count` expanded. */
export function expandGroups(s: Scenario): (Scenario['groups'][number] & { baseName: string })[] {
  return s.groups.flatMap((g) =>
    g.count === 1
      ? [{ ...g, baseName: g.name }]
      : Array.from({ length: g.count }, (_, i) => ({
          ...g,
          baseName: g.name,
          name: `${g.name}-${String(i + 1).padStart(2, '0')}`,
        })),
  );
}
