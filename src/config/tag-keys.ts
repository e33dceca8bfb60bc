import * as domainTags from '../domain/tags.js';
import { ENABLED_TAG, POLICY_TAG, TAG_PREFIX } from '../domain/tags.js';
import { describeExpected, enumValues, leafKind, settingLeaves } from './schema-walk.js';
import { nearest } from './suggest.js';

// ASG tags that override policy fields. The seed's keys (max_group) keep their meaning and
// spelling, misspelling included, so existing users keep their tags; every other setting gets a
// key named after its dotted path (standby.state -> spotmax:standby_state).

/** One setting a tag assigns; `implied` values (consul_port => consul.enabled) yield to explicit tags. */
export interface TagAssignment {
  path: string;
  value: unknown;
  implied?: boolean;
}

export type TagParse = { ok: true; set: TagAssignment[] } | { ok: false; message: string };

export interface TagKey {
  key: string;
  /** The setting this tag overrides; absent for spotmax:enabled and spotmax:policy. */
  path?: string;
  /** Documented by max_group, the seed. */
  seed: boolean;
  parse(value: string): TagParse;
}

/**
 * Settings no tag can set: they decide where credentials are read from and sent to, and anyone who
 * may tag an ASG must not be able to point the Consul token at their own host. Policy files only.
 */
export const POLICY_ONLY_PATHS: ReadonlySet<string> = new Set([
  'consul.address',
  'consul.centralAddress',
  'consul.tokenFile',
  'consul.tokenEnv',
]);

/**
 * Tags spotmax writes itself to keep state in AWS (spotmax:group, spotmax:standby-for, ...): not
 * settings, never warned about. Taken from domain/tags.ts so a new state tag is known here at once;
 * state tags use hyphens, settings underscores, so a hyphenated key is taken for state as well.
 */
export const STATE_TAGS: ReadonlySet<string> = new Set(
  (Object.values(domainTags) as unknown[]).filter(
    (v): v is string =>
      typeof v === 'string' &&
      v.startsWith(TAG_PREFIX) &&
      v !== ENABLED_TAG &&
      v !== POLICY_TAG &&
      v !== TAG_PREFIX,
  ),
);

export function isStateTag(key: string): boolean {
  return STATE_TAGS.has(key) || (key.startsWith(TAG_PREFIX) && key.slice(TAG_PREFIX.length).includes('-'));
}

const leafByPath = new Map(settingLeaves().map((l) => [l.path, l]));

const BOOL = /^(true|false)$/i;

/** Parses a tag value into the type of the setting at `path` and checks it against the schema. */
export function parseLeafValue(
  path: string,
  raw: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const leaf = leafByPath.get(path);
  if (!leaf) throw new Error(`tag table names ${path}, which is not a setting of the policy schema`);
  const text = raw.trim();
  const expected = `expected ${describeExpected(leaf.schema, path)}`;
  let value: unknown;
  switch (leafKind(leaf.schema)) {
    case 'integer':
      if (!/^[-+]?\d+$/.test(text)) return { ok: false, message: expected };
      value = Number(text);
      break;
    case 'number':
      if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(text)) return { ok: false, message: expected };
      value = Number(text);
      break;
    case 'boolean':
      if (!BOOL.test(text)) return { ok: false, message: expected };
      value = text.toLowerCase() === 'true';
      break;
    case 'enum':
      value = enumValues(leaf.schema).find((v) => v.toLowerCase() === text.toLowerCase()) ?? text;
      break;
    case 'list':
      // A tag value is one string: a list is written with spaces or commas between its items.
      value = text.split(/[\s,]+/).filter((x) => x !== '');
      break;
    default:
      value = text;
  }
  const checked = leaf.schema.safeParse(value);
  if (checked.success) return { ok: true, value };
  // A custom rule (drain flags) says best what is wrong; range and type errors get the description.
  const custom = checked.error.issues.find((i) => i.code === 'custom');
  return { ok: false, message: custom ? custom.message : expected };
}

function leafTag(key: string, path: string, seed: boolean, implies: TagAssignment[] = []): TagKey {
  return {
    key,
    path,
    seed,
    parse(raw) {
      const r = parseLeafValue(path, raw);
      if (!r.ok) return r;
      return { ok: true, set: [{ path, value: r.value }, ...implies.map((a) => ({ ...a, implied: true }))] };
    },
  };
}

function booleanTag(
  key: string,
  path: string | undefined,
  seed: boolean,
  map: (b: boolean) => TagAssignment[],
): TagKey {
  return {
    key,
    ...(path ? { path } : {}),
    seed,
    parse(raw) {
      const text = raw.trim();
      if (!BOOL.test(text)) return { ok: false, message: 'expected true or false' };
      return { ok: true, set: map(text.toLowerCase() === 'true') };
    },
  };
}

const SEED_KEYS: TagKey[] = [
  leafTag('spotmax:detaching_delay_seconds', 'interruption.detachDelaySeconds', true),
  leafTag('spotmax:max_num_of_terminated_one_time', 'replacement.maxConcurrent', true),
  // The seed's k8s support is switched on by giving a kubeconfig.
  leafTag('spotmax:k8s_config_file_path', 'kubernetes.kubeconfig', true, [
    { path: 'kubernetes.enabled', value: true },
  ]),
  {
    // In the seed a boolean ("drain the node or not"); kubectl drain flags are accepted too.
    key: 'spotmax:k8s_node_drain_option',
    path: 'kubernetes.drainOption',
    seed: true,
    parse(raw) {
      const text = raw.trim();
      if (BOOL.test(text))
        return { ok: true, set: [{ path: 'kubernetes.enabled', value: text.toLowerCase() === 'true' }] };
      const r = parseLeafValue('kubernetes.drainOption', text);
      if (!r.ok) return { ok: false, message: `expected true, false or kubectl drain flags: ${r.message}` };
      return {
        ok: true,
        set: [
          { path: 'kubernetes.drainOption', value: r.value },
          { path: 'kubernetes.enabled', value: true, implied: true },
        ],
      };
    },
  },
  leafTag('spotmax:consul_port', 'consul.port', true, [{ path: 'consul.enabled', value: true }]),
  leafTag('spotmax:persistence_dev', 'persistentVolume.device', true),
  leafTag('spotmax:instance_duration_hours', 'lifetime.durationHours', true),
  // The seed's spelling first; the correct one works as well.
  leafTag('spotmax:gurantee_living_mins', 'lifetime.guaranteeMinutes', true),
  leafTag('spotmax:guarantee_living_mins', 'lifetime.guaranteeMinutes', true),
  booleanTag('spotmax:is_enable_preaction', 'rebalance.action', true, (b) => [
    { path: 'rebalance.action', value: b ? 'replace' : 'ignore' },
  ]),
  leafTag('spotmax:preaction_detach_delay_seconds', 'rebalance.detachDelaySeconds', true),
  leafTag('spotmax:preaction_termination_delay_seconds', 'rebalance.terminateDelaySeconds', true),
];

const CONTROL_KEYS: TagKey[] = [
  booleanTag(ENABLED_TAG, undefined, false, () => []),
  {
    key: POLICY_TAG,
    seed: false,
    parse(raw) {
      return raw.trim() === ''
        ? { ok: false, message: 'expected the name of a policy' }
        : { ok: true, set: [] };
    },
  },
];

/** spotmax:interruption_detach_delay_seconds style key for a dotted path. */
export function systematicKey(path: string): string {
  return (
    TAG_PREFIX +
    path
      .replace(/\./g, '_')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()
  );
}

function buildTable(): TagKey[] {
  const covered = new Set(SEED_KEYS.map((k) => k.path));
  const own = settingLeaves()
    .filter((l) => !covered.has(l.path) && !POLICY_ONLY_PATHS.has(l.path))
    .map((l) => leafTag(systematicKey(l.path), l.path, false));
  return [...CONTROL_KEYS, ...SEED_KEYS, ...own];
}

/** Every tag key spotmax reads on an ASG. */
export const TAG_KEYS: readonly TagKey[] = buildTable();

const byKey = new Map(TAG_KEYS.map((k) => [k.key, k]));

export function findTagKey(key: string): TagKey | undefined {
  return byKey.get(key);
}

export interface ParsedTags {
  /** Settings assigned by tags; explicit ones win over implied ones. */
  settings: Map<string, { value: unknown; key: string }>;
  /** spotmax:enabled, when present and valid. */
  enabled?: boolean;
  /** spotmax:policy, when present and valid. */
  policy?: string;
  /** Bad values and contradictions: the group must not be managed on a guess. */
  errors: string[];
  /** Unknown spotmax:* keys: reported, otherwise ignored. */
  warnings: string[];
}

/** Reads the spotmax:* tags of one group. Never throws on bad input: it is reported. */
export function parseGroupTags(tags: readonly { key: string; value: string }[]): ParsedTags {
  const out: ParsedTags = { settings: new Map(), errors: [], warnings: [] };
  const explicit = new Map<string, { value: unknown; key: string; raw: string }>();
  const implied = new Map<string, { value: unknown; key: string }>();
  const known = TAG_KEYS.map((k) => k.key);
  for (const { key, value } of tags) {
    if (!key.startsWith(TAG_PREFIX) || isStateTag(key)) continue;
    const entry = byKey.get(key);
    if (!entry) {
      out.warnings.push(
        `unknown tag ${key}="${value}" ignored; the closest known key is ${nearest(key, known)}`,
      );
      continue;
    }
    const parsed = entry.parse(value);
    if (!parsed.ok) {
      out.errors.push(`tag ${key}="${value}": ${parsed.message}`);
      continue;
    }
    if (key === ENABLED_TAG) out.enabled = value.trim().toLowerCase() === 'true';
    if (key === POLICY_TAG) out.policy = value.trim();
    for (const a of parsed.set) {
      if (a.implied) {
        if (!implied.has(a.path)) implied.set(a.path, { value: a.value, key });
        continue;
      }
      const prior = explicit.get(a.path);
      if (prior && prior.value !== a.value) {
        out.errors.push(`tags ${prior.key}="${prior.raw}" and ${key}="${value}" disagree about ${a.path}`);
        continue;
      }
      explicit.set(a.path, { value: a.value, key, raw: value });
    }
  }
  for (const [path, v] of implied) out.settings.set(path, v);
  for (const [path, v] of explicit) out.settings.set(path, { value: v.value, key: v.key });
  return out;
}
