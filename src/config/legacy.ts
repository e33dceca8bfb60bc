import { Document } from 'yaml';
import { UserError } from '../domain/errors.js';
import { TAG_PREFIX } from '../domain/tags.js';
import { issueMessage } from './issues.js';
import { setPath } from './paths.js';
import { type GroupPolicyInput, groupPolicySchema } from './schema.js';
import { settingLeaves } from './schema-walk.js';
import { suggestion } from './suggest.js';
import { findTagKey, TAG_KEYS } from './tag-keys.js';

// max_group's service_config.json -> policy YAML. Per-group options are the seed's tag keys without
// the prefix, so they go through the same parsers (and ranges) as tags do. The reader is tolerant
// (groups as a map or a list, numbers and booleans as strings) but never silent: every key it does
// not understand is listed, every assumption is a note, every bad value an error.

const SQS_KEYS = ['interruption_evt_sqs', 'detach_evt_sqs', 'termination_evt_sqs'] as const;
const SQS_FIELDS = ['queue_url', 'visibility_timeout_seconds', 'max_number_of_messages', 'wait_time_seconds'];
const GLOBAL_KEYS = [...SQS_KEYS, 'preaction_snapshot_interval_minutes'];
const TOP_KEYS = ['system', 'global', 'groups'];
/** Keys that name the group when `groups` is a list. */
const NAME_KEYS = ['name', 'group_name', 'asg_name', 'autoscaling_group_name', 'asg'];
/** The seed's own misspelling, in its documented sample. */
const ALIASES: Record<string, string> = { dettaching_delay_seconds: 'detaching_delay_seconds' };
/** The seed's documented kubeconfig location, used when a group drains nodes (max_group took it from -K). */
export const LEGACY_KUBECONFIG = '/data/spotmax/k8sconfig';
/** max_group's documented default when a group does not set it. */
const SEED_DETACH_DELAY = 20;
const SEED_PREACTION_DELAY = 10;

const GROUP_KEYS = TAG_KEYS.filter((k) => k.seed).map((k) => k.key.slice(TAG_PREFIX.length));

export interface LegacyConversion {
  /** One policy per legacy group, in the file's order. */
  policies: GroupPolicyInput[];
  /** The policies as YAML documents, with a header that repeats notes and unconverted keys. */
  yaml: string;
  /** The queue spotmax should read (`--queue-url`). */
  queueUrls: string[];
  /** max_group's other queues, by config key, with what to do about them. */
  otherQueues: { key: string; url: string }[];
  /** Assumptions and settings that have no counterpart, so the reader can check them. */
  notes: string[];
  /** Keys the converter does not know; their values are not converted. */
  unknown: string[];
  /** Values that cannot be converted; with any, the conversion must not be used. */
  errors: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const groupPath = (name: string) =>
  /^[\w.-]+$/.test(name) ? `groups.${name}` : `groups[${JSON.stringify(name)}]`;

/** JSON.parse with the position of a syntax error as line:column. */
export function parseLegacyJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos && !/line \d+/.test(msg)) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      where = ` (line ${line} column ${before.length - before.lastIndexOf('\n')})`;
    }
    throw new UserError(`${source} is not valid JSON: ${msg}${where}`, { cause: err });
  }
}

function unknownKeys(obj: Obj, known: readonly string[], at: string, out: string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key))
      out.push(`${at}${at ? '.' : ''}${key}: unknown key, not converted${suggestion(key, known)}`);
  }
}

function readGroups(raw: unknown, errors: string[]): [string, Obj][] {
  if (raw === undefined) return [];
  if (isObj(raw)) {
    return Object.entries(raw).flatMap(([name, g]): [string, Obj][] => {
      if (isObj(g)) return [[name, g]];
      errors.push(`${groupPath(name)}: expected an object of options, got ${JSON.stringify(g)}`);
      return [];
    });
  }
  if (Array.isArray(raw)) {
    return raw.flatMap((g, i): [string, Obj][] => {
      const nameKey = isObj(g) ? NAME_KEYS.find((k) => typeof g[k] === 'string' && g[k] !== '') : undefined;
      if (!isObj(g) || !nameKey) {
        errors.push(
          `groups[${i}]: expected an object with the group's name in one of ${NAME_KEYS.join(', ')}`,
        );
        return [];
      }
      const { [nameKey]: name, ...options } = g;
      return [[String(name), options]];
    });
  }
  errors.push(
    `groups: expected an object (group name -> options) or a list of groups, got ${JSON.stringify(raw)}`,
  );
  return [];
}

function policyName(group: string, taken: Set<string>): string {
  const base = group.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'group';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

interface GroupResult {
  values: Map<string, { value: unknown; from: string; implied: boolean }>;
}

function convertGroup(name: string, options: Obj, out: LegacyConversion): GroupResult {
  const at = groupPath(name);
  const values: GroupResult['values'] = new Map();
  unknownKeys(options, [...GROUP_KEYS, ...Object.keys(ALIASES)], at, out.unknown);
  for (const [rawKey, rawValue] of Object.entries(options)) {
    const key = ALIASES[rawKey] ?? rawKey;
    const entry = GROUP_KEYS.includes(key) ? findTagKey(TAG_PREFIX + key) : undefined;
    if (!entry) continue;
    // Go's zero values mean "not set" in max_group: an empty device, port or path turns the feature off.
    if (rawValue === '' || (key === 'consul_port' && (rawValue === 0 || rawValue === '0'))) continue;
    if (rawValue === null || typeof rawValue === 'object') {
      out.errors.push(
        `${at}.${rawKey}: expected a number, a string or true/false, got ${JSON.stringify(rawValue)}`,
      );
      continue;
    }
    const parsed = entry.parse(String(rawValue));
    if (!parsed.ok) {
      out.errors.push(`${at}.${rawKey}=${JSON.stringify(rawValue)}: ${parsed.message}`);
      continue;
    }
    for (const a of parsed.set) {
      const prior = values.get(a.path);
      if (a.implied) {
        if (!prior) values.set(a.path, { value: a.value, from: rawKey, implied: true });
      } else if (prior && !prior.implied && prior.value !== a.value) {
        out.errors.push(
          `${at}: ${prior.from}=${JSON.stringify(prior.value)} and ${rawKey}=${JSON.stringify(rawValue)} disagree`,
        );
      } else {
        values.set(a.path, { value: a.value, from: rawKey, implied: false });
      }
    }
  }
  const seedDefault = (path: string, value: unknown, why: string) => {
    if (values.has(path)) return;
    values.set(path, { value, from: 'max_group default', implied: false });
    out.notes.push(`${at}: ${why}`);
  };
  seedDefault(
    'interruption.detachDelaySeconds',
    SEED_DETACH_DELAY,
    `no detaching_delay_seconds; wrote max_group's default, ${SEED_DETACH_DELAY} s`,
  );
  if (values.get('rebalance.action')?.value === 'replace') {
    seedDefault(
      'rebalance.detachDelaySeconds',
      SEED_PREACTION_DELAY,
      `preaction on without preaction_detach_delay_seconds; wrote max_group's default, ${SEED_PREACTION_DELAY} s`,
    );
    seedDefault(
      'rebalance.terminateDelaySeconds',
      SEED_PREACTION_DELAY,
      `preaction on without preaction_termination_delay_seconds; wrote max_group's default, ${SEED_PREACTION_DELAY} s`,
    );
  }
  if (values.get('kubernetes.enabled')?.value === true && !values.has('kubernetes.kubeconfig')) {
    values.set('kubernetes.kubeconfig', { value: LEGACY_KUBECONFIG, from: 'assumed', implied: false });
    out.notes.push(
      `${at}: drains Kubernetes nodes; max_group took the kubeconfig from its -K flag, so kubernetes.kubeconfig is set to ${LEGACY_KUBECONFIG}: check the path`,
    );
  }
  return { values };
}

function readQueues(global: Obj, out: LegacyConversion): number | undefined {
  let nestedSnapshot: number | undefined;
  const receiveSettings = new Set<string>();
  for (const key of SQS_KEYS) {
    const q = global[key];
    if (q === undefined) continue;
    if (!isObj(q)) {
      out.errors.push(`global.${key}: expected an object with queue_url, got ${JSON.stringify(q)}`);
      continue;
    }
    // The seed's documented sample puts the snapshot interval inside this block, where max_group ignores it.
    const { preaction_snapshot_interval_minutes: nested, ...fields } = q;
    if (nested !== undefined) nestedSnapshot = Number(nested);
    unknownKeys(fields, SQS_FIELDS, `global.${key}`, out.unknown);
    const url = fields.queue_url;
    if (url !== undefined && (typeof url !== 'string' || !/^https?:\/\//.test(url))) {
      out.errors.push(`global.${key}.queue_url: expected the queue's https URL, got ${JSON.stringify(url)}`);
    } else if (url) {
      if (key === 'interruption_evt_sqs') out.queueUrls.push(url);
      else out.otherQueues.push({ key, url });
    }
    for (const f of SQS_FIELDS.slice(1)) if (fields[f] !== undefined) receiveSettings.add(f);
    if (nested !== undefined) {
      out.notes.push(
        `global.${key}.preaction_snapshot_interval_minutes=${String(nested)} sits inside the queue settings, where max_group ignores it; global.preaction_snapshot_interval_minutes is used`,
      );
    }
  }
  if (receiveSettings.size > 0) {
    out.notes.push(
      `the queues' ${[...receiveSettings].join(', ')} are not carried over: spotmax sets its own receive parameters (long poll, 10 messages a receive); tune with --pollers and --concurrency`,
    );
  }
  for (const { key, url } of out.otherQueues) {
    out.notes.push(
      `global.${key} (${url}) was max_group's own work queue; spotmax keeps that state in tags and does not read it. Give it to spotmax with --queue-url only if EventBridge rules send Spot or instance events there`,
    );
  }
  return nestedSnapshot;
}

/** Converts a parsed service_config.json. Never throws on bad content: it is reported in the result. */
export function convertLegacyConfig(data: unknown, source = 'service_config.json'): LegacyConversion {
  const out: LegacyConversion = {
    policies: [],
    yaml: '',
    queueUrls: [],
    otherQueues: [],
    notes: [],
    unknown: [],
    errors: [],
  };
  if (!isObj(data)) {
    out.errors.push(`${source}: expected a JSON object with "global" and "groups"`);
    return out;
  }
  unknownKeys(data, TOP_KEYS, '', out.unknown);
  if (isObj(data.system)) unknownKeys(data.system, [], 'system', out.unknown);
  const global = isObj(data.global) ? data.global : {};
  if (data.global !== undefined && !isObj(data.global)) out.errors.push('global: expected an object');
  unknownKeys(global, GLOBAL_KEYS, 'global', out.unknown);
  const nestedSnapshot = readQueues(global, out);
  const rawSnapshot = global.preaction_snapshot_interval_minutes ?? nestedSnapshot;
  const snapshotMinutes = rawSnapshot === undefined ? 0 : Number(rawSnapshot);
  if (!Number.isInteger(snapshotMinutes) || snapshotMinutes < 0) {
    out.errors.push(
      `global.preaction_snapshot_interval_minutes=${JSON.stringify(rawSnapshot)}: expected a whole number of minutes, at least 0`,
    );
  }

  const taken = new Set<string>();
  const docs: Document[] = [];
  const groups = readGroups(data.groups, out.errors);
  if (groups.length === 0) out.notes.push('no groups in the file: no policies written');
  let snapshotUsed = false;
  for (const [group, options] of groups) {
    const { values } = convertGroup(group, options, out);
    if (values.has('persistentVolume.device') && snapshotMinutes > 0) {
      values.set('persistentVolume.snapshotIntervalMinutes', {
        value: snapshotMinutes,
        from: 'global',
        implied: false,
      });
      snapshotUsed = true;
    }
    const name = policyName(group, taken);
    if (name !== group)
      out.notes.push(
        `${groupPath(group)}: policy name "${name}" (policy names allow letters, digits, ".", "_", "-")`,
      );
    const spec: Record<string, unknown> = { match: { names: [group] } };
    // Schema order, so every converted file reads the same way.
    for (const leaf of settingLeaves()) {
      const v = values.get(leaf.path);
      if (v) setPath(spec, leaf.path, v.value);
    }
    const policy = {
      apiVersion: 'spotmax/v1' as const,
      kind: 'GroupPolicy' as const,
      metadata: { name, description: `converted from max_group group "${group}"` },
      spec,
    };
    const checked = groupPolicySchema.safeParse(policy);
    if (!checked.success) {
      for (const iss of checked.error.issues)
        out.errors.push(`${groupPath(group)}: ${issueMessage(iss, policy)}`);
      continue;
    }
    out.policies.push(policy as GroupPolicyInput);
    const doc = new Document(policy);
    doc.commentBefore = ` max_group group "${group}"`;
    docs.push(doc);
  }
  if (snapshotMinutes > 0 && !snapshotUsed) {
    out.notes.push(
      `global.preaction_snapshot_interval_minutes=${snapshotMinutes} not used: no group has a persistence_dev`,
    );
  }
  out.yaml = render(source, docs, out);
  return out;
}

function render(source: string, docs: Document[], out: LegacyConversion): string {
  const header = [
    '# yaml-language-server: $schema=./schema.json',
    `# Converted from ${source} (max_group) by spotmax import-legacy. Review before use.`,
    ...(out.queueUrls.length
      ? [`# Run spotmax with: ${out.queueUrls.map((u) => `--queue-url ${u}`).join(' ')}`]
      : []),
    ...out.notes.map((n) => `# note: ${n}`),
    ...out.unknown.map((u) => `# not converted: ${u}`),
  ];
  return `${header.join('\n')}\n${docs.map((d) => String(d)).join('---\n')}`;
}
