import type { z } from 'zod';
import { groupPolicySchema } from './schema.js';
import { describeExpected, leafKind, objectKeys, schemaAt } from './schema-walk.js';
import { suggestion } from './suggest.js';

// Turns zod issues into messages a person can act on: what is wrong, where in the document, what
// would be right (the allowed range, the closest known field).

export type ZodIssue = z.core.$ZodIssue;

export function dotted(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function expectedAt(root: z.ZodType, path: readonly PropertyKey[], fallback: string): string {
  const schema = schemaAt(root, path);
  if (!schema || objectKeys(schema)) return fallback;
  const last = String(path[path.length - 1] ?? '');
  // Strings and collections have nothing better to say than the type zod names.
  return leafKind(schema) === 'string' && fallback !== 'string' ? fallback : describeExpected(schema, last);
}

/** `unknown field "x" in spec.interruption; did you mean "y"?` */
export function unknownFieldMessage(path: readonly PropertyKey[], key: string): string {
  const where = path.length === 0 ? 'the document' : dotted(path);
  const known = objectKeys(schemaAt(groupPolicySchema, path) ?? groupPolicySchema) ?? [];
  return `unknown field "${key}" in ${where}${suggestion(key, known)}`;
}

/** One message for one zod issue (unrecognized_keys is split per key by the caller). */
export function issueMessage(iss: ZodIssue, input: unknown, root: z.ZodType = groupPolicySchema): string {
  const path = iss.path as PropertyKey[];
  const where = dotted(path) || 'the document';
  const value = valueAt(input, path);
  switch (iss.code) {
    case 'invalid_type':
      if (value === undefined)
        return `${where}: required field is missing (expected ${expectedAt(root, path, iss.expected)})`;
      return `${where}: expected ${expectedAt(root, path, iss.expected)}, got ${show(value)}`;
    case 'too_big':
    case 'too_small':
      if (typeof value === 'string' || Array.isArray(value)) return `${where}: ${iss.message}`;
      return `${where}: expected ${expectedAt(root, path, 'a number')}, got ${show(value)}`;
    case 'not_multiple_of':
      return `${where}: expected ${expectedAt(root, path, 'a number')}, got ${show(value)}`;
    case 'invalid_value':
      if (value === undefined) {
        return `${where}: required field is missing (expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')})`;
      }
      return `${where}: expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${show(value)}`;
    case 'invalid_format':
      return `${where}: ${iss.message}, got ${show(value)}`;
    case 'custom':
      return iss.message;
    default:
      return `${where}: ${iss.message}`;
  }
}
