// Dotted paths ("interruption.detachDelaySeconds") over plain nested objects: the keys of `plan`'s
// config, of provenance, and of the tag table.

export type Plain = Record<string, unknown>;

const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isPlain(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function hasPath(obj: unknown, path: string): boolean {
  const parts = path.split('.');
  const last = parts.pop()!;
  const parent = parts.length === 0 ? obj : getPath(obj, parts.join('.'));
  return isPlain(parent) && Object.hasOwn(parent, last);
}

/** Sets `path` in `obj`, creating (or replacing non-object) intermediate objects. Mutates `obj`. */
export function setPath(obj: Plain, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop()!;
  let cur = obj;
  for (const part of parts) {
    const next = cur[part];
    if (!isPlain(next)) cur[part] = {};
    cur = cur[part] as Plain;
  }
  cur[last] = value;
}

/** A deep copy of plain data (policy input as parsed from YAML: objects, arrays, scalars). */
export function clonePlain<T>(value: T): T {
  return structuredClone(value);
}

export { isPlain };
