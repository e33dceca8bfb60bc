import { describeError } from '../../domain/errors.js';
import { STANDBY_FOR_TAG } from '../../domain/tags.js';
import type { Group, Instance, LaunchTemplateRef } from '../../domain/types.js';
import type { StandbyFacts, StandbyOption } from '../../plan/standby-launch.js';
import type {
  Ec2Port,
  ImageInfo,
  InstanceStatusInfo,
  InstanceTypeInfo,
  LaunchTemplateVersionInfo,
} from '../../ports/ec2.js';

// What the standby planner needs beyond the group's template: the templates of the overrides (an arm64
// AMI for Graviton types), the concrete types of attribute-based selection, images (root device,
// deregistration), instance types (hibernation), and the status checks of standbys still booting.
// Reads that cannot change are cached per EC2 port: instance types for good, the types an attribute-based
// selection resolves to by template id + version + requirements, images for IMAGE_TTL_MS (an image can be
// deregistered any time, but its standbys need not be replaced within the minute), templates by version
// number in the AWS adapter.

/** How long an image read is trusted: a deregistered AMI's standbys are replaced within this. */
export const IMAGE_TTL_MS = 5 * 60_000;

interface FactCache {
  images: Map<string, { at: number; info: ImageInfo | null }>;
  instanceTypes: Map<string, InstanceTypeInfo | null>;
  requirementTypes: Map<string, Promise<string[]>>;
}
const caches = new WeakMap<object, FactCache>();

function cacheFor(ec2: Ec2Port): FactCache {
  let c = caches.get(ec2);
  if (!c) {
    c = { images: new Map(), instanceTypes: new Map(), requirementTypes: new Map() };
    caches.set(ec2, c);
  }
  return c;
}

const refKey = (r: LaunchTemplateRef) => `${r.id ?? r.name}@${r.version ?? '$Default'}`;

export interface StandbyFactsInput {
  ec2: Ec2Port;
  group: Group;
  main: LaunchTemplateVersionInfo;
  standbys: readonly Instance[];
  wantHibernation: boolean;
  readinessTag?: string;
  /** The pass's time (ms), for the image cache. */
  nowMs: number;
  /** Status checks read for all groups' running standbys at once; read here when not given. */
  statuses?: Promise<Map<string, InstanceStatusInfo> | Error>;
}

/** One DescribeInstanceStatus (100 ids a call) for the running standbys of every group of a pass. */
export function readStandbyStatuses(
  ec2: Ec2Port,
  ids: readonly string[],
): Promise<Map<string, InstanceStatusInfo> | Error> {
  if (ids.length === 0) return Promise.resolve(new Map());
  return ec2.describeInstanceStatus([...ids]).then(
    (list) => new Map(list.map((s) => [s.instanceId, s])),
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
}

export async function gatherStandbyFacts(input: StandbyFactsInput): Promise<StandbyFacts> {
  const { ec2, group, main } = input;
  const cache = cacheFor(ec2);
  const problems: string[] = [];
  const templates = new Map<string, Promise<LaunchTemplateVersionInfo | undefined>>();
  const templateOf = (ref: LaunchTemplateRef | undefined): Promise<LaunchTemplateVersionInfo | undefined> => {
    if (!ref) return Promise.resolve(main);
    const key = refKey(ref);
    let p = templates.get(key);
    if (!p) {
      p = ec2.describeLaunchTemplateVersion(ref).catch((err) => {
        problems.push(
          `could not read override launch template ${ref.id ?? ref.name} version ${ref.version ?? '$Default'}: ${describeError(err)}`,
        );
        return undefined;
      });
      templates.set(key, p);
    }
    return p;
  };

  // Images first: the architecture an attribute-based selection needs comes from the AMI.
  const overrides = group.mixedInstancesPolicy?.overrides ?? [];
  const overrideTemplates = await Promise.all(overrides.map((o) => templateOf(o.launchTemplate)));
  const allTemplates = [main, ...overrideTemplates.filter((t): t is LaunchTemplateVersionInfo => !!t)];
  const imageIds = new Set<string>();
  for (const t of allTemplates) if (t.imageId?.startsWith('ami-')) imageIds.add(t.imageId);
  for (const s of input.standbys) if (s.imageId) imageIds.add(s.imageId);
  const images = new Map<string, ImageInfo>();
  const checkedImages = new Set<string>();
  // An image read less than IMAGE_TTL_MS ago is not read again: a pass over hundreds of groups would
  // otherwise spend one DescribeImages per group every minute on answers that rarely change.
  const stale = [...imageIds].filter((id) => {
    const hit = cache.images.get(id);
    return !hit || input.nowMs - hit.at >= IMAGE_TTL_MS;
  });
  if (stale.length > 0) {
    try {
      const got = new Map((await ec2.describeImages(stale)).map((img) => [img.imageId, img]));
      for (const id of stale) cache.images.set(id, { at: input.nowMs, info: got.get(id) ?? null });
    } catch (err) {
      problems.push(`could not read images ${stale.join(', ')}: ${describeError(err)}`);
    }
  }
  for (const id of imageIds) {
    const hit = cache.images.get(id);
    if (!hit) continue;
    checkedImages.add(id);
    if (hit.info) images.set(id, hit.info);
  }

  const typesFor = async (
    template: LaunchTemplateVersionInfo,
    requirements: Record<string, unknown>,
  ): Promise<string[]> => {
    const arch = template.imageId ? images.get(template.imageId)?.architecture : undefined;
    const key = `${template.id}:${template.version}:${arch ?? 'x86_64'}:${JSON.stringify(requirements)}`;
    let p = cache.requirementTypes.get(key);
    if (!p) {
      p = ec2.getInstanceTypesFromInstanceRequirements({
        architectureTypes: [arch ?? 'x86_64'],
        virtualizationTypes: ['hvm'],
        instanceRequirements: requirements,
      });
      cache.requirementTypes.set(key, p);
      p.catch(() => cache.requirementTypes.delete(key));
    }
    try {
      const types = await p;
      if (types.length === 0)
        problems.push(
          `no instance type matches the attribute-based selection of ${group.name} (${JSON.stringify(requirements).slice(0, 120)})`,
        );
      return types;
    } catch (err) {
      problems.push(
        `could not list the instance types of ${group.name}'s attribute-based selection: ${describeError(err)}`,
      );
      return [];
    }
  };

  const options: StandbyOption[] = [];
  const seen = new Set<string>();
  const add = (instanceType: string | undefined, template: LaunchTemplateVersionInfo) => {
    const key = `${instanceType ?? ''}|${template.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    options.push({ ...(instanceType ? { instanceType } : {}), template });
  };
  for (const [n, o] of overrides.entries()) {
    const template = overrideTemplates[n];
    if (!template) continue;
    if (o.instanceType) add(o.instanceType, template);
    else if (o.instanceRequirements)
      for (const t of await typesFor(template, o.instanceRequirements)) add(t, template);
  }
  if (overrides.length === 0) {
    if (main.instanceRequirements)
      for (const t of await typesFor(main, main.instanceRequirements)) add(t, main);
    else add(undefined, main);
  }

  const instanceTypes = new Map<string, InstanceTypeInfo>();
  if (input.wantHibernation) {
    const wanted = [
      ...new Set(
        options.map((o) => o.instanceType ?? o.template.instanceType).filter((t): t is string => !!t),
      ),
    ];
    const unknown = wanted.filter((t) => !cache.instanceTypes.has(t));
    if (unknown.length > 0) {
      try {
        const got = await ec2.describeInstanceTypes(unknown);
        for (const t of unknown) cache.instanceTypes.set(t, got.find((x) => x.instanceType === t) ?? null);
      } catch (err) {
        problems.push(`could not read instance types ${unknown.join(', ')}: ${describeError(err)}`);
      }
    }
    for (const t of wanted) {
      const info = cache.instanceTypes.get(t);
      if (info) instanceTypes.set(t, info);
    }
  }

  let statuses = new Map<string, InstanceStatusInfo>();
  const booting = input.readinessTag
    ? []
    : input.standbys.filter((s) => s.state === 'running' && s.tags[STANDBY_FOR_TAG] === group.name);
  if (booting.length > 0 && input.statuses) {
    // Read once for every group of the pass (gather.ts), 100 instances a call.
    const read = await input.statuses;
    if (read instanceof Error)
      problems.push(
        `could not read the status checks of ${booting.length} standby(s): ${describeError(read)}`,
      );
    else statuses = read;
  } else if (booting.length > 0) {
    try {
      for (const s of await ec2.describeInstanceStatus(booting.map((b) => b.instanceId)))
        statuses.set(s.instanceId, s);
    } catch (err) {
      problems.push(
        `could not read the status checks of ${booting.length} standby(s): ${describeError(err)}`,
      );
    }
  }
  return { options, images, checkedImages, instanceTypes, statuses, problems };
}
