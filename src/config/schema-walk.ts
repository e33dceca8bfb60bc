import type { z } from 'zod';
import { specSchema } from './schema.js';

// Reads the zod schema as data, so the tag table, provenance and error messages follow the schema
// instead of repeating it: one leaf per setting, its allowed values described in words.

type Schema = z.ZodType;

interface Def {
  type: string;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  entries?: Record<string, string | number>;
  values?: unknown[];
  checks?: { _zod: { def: CheckDef } }[];
}
interface CheckDef {
  check: string;
  value?: number;
  inclusive?: boolean;
  format?: string;
  minimum?: number;
}

const defOf = (s: Schema) => s._zod.def as unknown as Def;

/** Through optional/default/prefault/nullable wrappers to the schema that checks the value. */
export function unwrap(s: Schema): Schema {
  let cur = s;
  for (;;) {
    const d = defOf(cur);
    if (
      ['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional'].includes(d.type) &&
      d.innerType
    ) {
      cur = d.innerType;
    } else {
      return cur;
    }
  }
}

/** Field names of the object schema `s` (after unwrapping), or undefined when it is no object. */
export function objectKeys(s: Schema): string[] | undefined {
  const d = defOf(unwrap(s));
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : undefined;
}

/** The schema that checks the value at `path` under `root` (objects, arrays, records). */
export function schemaAt(root: Schema, path: readonly PropertyKey[]): Schema | undefined {
  let cur: Schema | undefined = root;
  for (const key of path) {
    if (!cur) return undefined;
    const d = defOf(unwrap(cur));
    if (d.type === 'object') cur = d.shape?.[String(key)];
    else if (d.type === 'array') cur = d.element;
    else if (d.type === 'record') cur = d.valueType;
    else return undefined;
  }
  return cur;
}

export interface Leaf {
  /** Dotted path inside `spec`, e.g. interruption.detachDelaySeconds. */
  path: string;
  schema: Schema;
}

function collectLeaves(s: Schema, prefix: string, out: Leaf[]): void {
  const keys = objectKeys(s);
  if (!keys) {
    out.push({ path: prefix, schema: s });
    return;
  }
  for (const key of keys) collectLeaves(schemaAt(s, [key])!, prefix ? `${prefix}.${key}` : key, out);
}

let leavesCache: Leaf[] | undefined;

/** Every leaf setting of a group (the spec without `match`), in schema order. */
export function settingLeaves(): Leaf[] {
  if (!leavesCache) {
    const out: Leaf[] = [];
    for (const key of objectKeys(specSchema)!) {
      if (key !== 'match') collectLeaves(schemaAt(specSchema, [key])!, key, out);
    }
    leavesCache = out;
  }
  return leavesCache;
}

export type LeafKind = 'number' | 'integer' | 'boolean' | 'enum' | 'string' | 'list';

export function leafKind(s: Schema): LeafKind {
  const d = defOf(unwrap(s));
  if (d.type === 'number') return isInteger(d) ? 'integer' : 'number';
  if (d.type === 'boolean') return 'boolean';
  if (d.type === 'enum') return 'enum';
  if (d.type === 'array') return 'list';
  return 'string';
}

export function enumValues(s: Schema): string[] {
  const d = defOf(unwrap(s));
  return d.entries ? Object.values(d.entries).map(String) : [];
}

function isInteger(d: Def): boolean {
  return (d.checks ?? []).some(
    (c) => c._zod.def.check === 'number_format' && /int/.test(c._zod.def.format ?? ''),
  );
}

function unitOf(path: string): string {
  const m = /(Seconds|Minutes|Hours)$/.exec(path);
  return m ? ` of ${m[1]!.toLowerCase()}` : '';
}

/** What the value at `path` must be, in words: "a whole number of seconds from 0 to 119". */
export function describeExpected(s: Schema, path: string): string {
  const inner = unwrap(s);
  const d = defOf(inner);
  switch (leafKind(inner)) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${enumValues(inner).join(', ')}`;
    case 'string':
      return 'a non-empty string';
    case 'list':
      return 'one or more names, separated by spaces or commas';
    default: {
      let lo: CheckDef | undefined;
      let hi: CheckDef | undefined;
      for (const c of d.checks ?? []) {
        const cd = c._zod.def;
        if (cd.check === 'greater_than') lo = cd;
        if (cd.check === 'less_than') hi = cd;
      }
      const base = `${isInteger(d) ? 'a whole number' : 'a number'}${unitOf(path)}`;
      if (lo?.inclusive && hi?.inclusive) return `${base} from ${lo.value} to ${hi.value}`;
      const parts = [
        lo && (lo.inclusive ? `at least ${lo.value}` : `greater than ${lo.value}`),
        hi && (hi.inclusive ? `at most ${hi.value}` : `less than ${hi.value}`),
      ].filter(Boolean);
      return parts.length ? `${base} ${parts.join(' and ')}` : base;
    }
  }
}
