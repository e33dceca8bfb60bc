import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, LineCounter, parseAllDocuments } from 'yaml';
import { UserError } from '../domain/errors.js';
import { issueMessage, unknownFieldMessage } from './issues.js';
import { type GroupPolicy, type GroupPolicyInput, groupPolicySchema, matchSchema } from './schema.js';
import { keyNode, locate, type Position, positionOf } from './yaml-positions.js';

// Policy files -> validated GroupPolicy documents, with every problem of every file reported at
// once as file:line:col, and each policy able to say on which line a setting was written.

export interface PolicyIssue {
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface LoadedPolicy {
  name: string;
  file: string;
  /** The validated policy, defaults filled in. */
  policy: GroupPolicy;
  /** The document as written (no defaults), to tell values the policy sets from defaults. Fakes may omit it: then every value counts as set by the policy. */
  input?: GroupPolicyInput;
  /** Where metadata.name is written. */
  at?: Position;
  /** Line of a dotted spec path (interruption.detachDelaySeconds), or of its nearest enclosing node. */
  line(path: string): number | undefined;
}

/** A document that failed validation; kept so a group it would have matched is not left to defaults. */
export interface RejectedPolicy {
  name?: string;
  file: string;
  line: number;
  /** Its `spec.match`, when that part is valid. */
  match?: GroupPolicy['spec']['match'];
}

export interface PolicySet {
  policies: LoadedPolicy[];
  issues: PolicyIssue[];
  /** Absent in hand-made sets: nothing rejected. */
  rejected?: RejectedPolicy[];
  /** The files read, in order. */
  files?: string[];
}

export function formatIssue(i: PolicyIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.message}`;
}

const POLICY_FILE = /\.ya?ml$/i;

async function expand(path: string, issues: PolicyIssue[]): Promise<string[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    issues.push({
      file: path,
      line: 1,
      col: 1,
      message: code === 'ENOENT' ? 'no such file or folder' : `cannot read: ${String(err)}`,
    });
    return [];
  }
  if (!isDir) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && POLICY_FILE.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter(
      (f) =>
        !f
          .slice(path.length)
          .split(/[\\/]/)
          .some((seg) => seg.startsWith('.')),
    )
    .sort();
}

/** Loads policy files and folders (every *.yaml / *.yml below, sorted). Never throws on bad input. */
export async function loadPolicies(paths: string[]): Promise<PolicySet> {
  const issues: PolicyIssue[] = [];
  const files: string[] = [];
  for (const p of paths) {
    for (const f of await expand(p, issues)) if (!files.includes(f)) files.push(f);
  }
  const sets: PolicySet[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      issues.push({ file, line: 1, col: 1, message: `cannot read: ${String(err)}` });
      continue;
    }
    sets.push(parseFile(text, file));
  }
  return combine(sets, issues, files);
}

/** Loads the policies of one file's text; `file` is used in positions and provenance. */
export function loadPoliciesFromText(text: string, file: string): PolicySet {
  return combine([parseFile(text, file)], [], [file]);
}

function combine(sets: PolicySet[], pathIssues: PolicyIssue[], files: string[]): PolicySet {
  const policies = sets.flatMap((s) => s.policies);
  const issues = [...pathIssues, ...sets.flatMap((s) => s.issues), ...duplicateIssues(policies)];
  return {
    policies,
    issues: sortIssues(issues, files),
    rejected: sets.flatMap((s) => s.rejected ?? []),
    files,
  };
}

function sortIssues(issues: PolicyIssue[], files: string[]): PolicyIssue[] {
  const order = (f: string) => {
    const i = files.indexOf(f);
    return i < 0 ? -1 : i;
  };
  return [...issues].sort((a, b) => order(a.file) - order(b.file) || a.line - b.line || a.col - b.col);
}

/** Both (all) places of a name defined more than once: each says where the other is. */
function duplicateIssues(policies: LoadedPolicy[]): PolicyIssue[] {
  const byName = new Map<string, LoadedPolicy[]>();
  for (const p of policies) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const out: PolicyIssue[] = [];
  for (const [name, same] of byName) {
    if (same.length < 2) continue;
    for (const p of same) {
      const others = same.filter((o) => o !== p).map((o) => `${o.file}:${o.at?.line ?? 1}:${o.at?.col ?? 1}`);
      out.push({
        file: p.file,
        ...(p.at ?? { line: 1, col: 1 }),
        message: `duplicate policy name "${name}", also defined at ${others.join(', ')}`,
      });
    }
  }
  return out;
}

function parseFile(text: string, file: string): PolicySet {
  const lc = new LineCounter();
  const issues: PolicyIssue[] = [];
  const policies: LoadedPolicy[] = [];
  const rejected: RejectedPolicy[] = [];
  const at = (offset: number): PolicyIssue => ({ file, ...lc.linePos(offset), message: '' });
  for (const doc of parseAllDocuments(text, { lineCounter: lc, prettyErrors: false })) {
    const yamlProblems = [...doc.errors, ...doc.warnings];
    for (const e of yamlProblems) {
      issues.push({ ...at(e.pos[0]), message: `invalid YAML: ${e.message.split('\n')[0]}` });
    }
    if (yamlProblems.length > 0 || doc.contents === null) continue;
    const input: unknown = doc.toJS({ maxAliasCount: 100 });
    const parsed = groupPolicySchema.safeParse(input);
    if (parsed.success) {
      policies.push(loaded(doc, lc, file, parsed.data, input as GroupPolicyInput));
    } else {
      for (const iss of parsed.error.issues) issues.push(...positioned(iss, doc, lc, file, input));
      rejected.push(rejectedOf(doc, lc, file, input));
    }
  }
  return { policies, issues, rejected, files: [file] };
}

function positioned(
  iss: Parameters<typeof issueMessage>[0],
  doc: Document,
  lc: LineCounter,
  file: string,
  input: unknown,
): PolicyIssue[] {
  const path = iss.path as PropertyKey[];
  if (iss.code === 'unrecognized_keys') {
    return iss.keys.map((key) => ({
      file,
      ...positionOf(keyNode(doc, [...path, key]) ?? locate(doc, path)?.node, lc),
      message: unknownFieldMessage(path, key),
    }));
  }
  const found = locate(doc, path);
  return [{ file, ...positionOf(found?.node, lc), message: issueMessage(iss, input) }];
}

function loaded(
  doc: Document,
  lc: LineCounter,
  file: string,
  policy: GroupPolicy,
  input: GroupPolicyInput,
): LoadedPolicy {
  const nameAt = positionOf(locate(doc, ['metadata', 'name'])?.node, lc);
  return {
    name: policy.metadata.name,
    file,
    policy,
    input,
    at: nameAt,
    line(path: string) {
      const found = locate(doc, ['spec', ...path.split('.')]);
      if (!found) return undefined;
      return positionOf(found.key ?? found.node, lc).line;
    },
  };
}

function rejectedOf(doc: Document, lc: LineCounter, file: string, input: unknown): RejectedPolicy {
  const raw = (input ?? {}) as { metadata?: { name?: unknown }; spec?: { match?: unknown } };
  const match = matchSchema.safeParse(raw.spec?.match);
  return {
    ...(typeof raw.metadata?.name === 'string' ? { name: raw.metadata.name } : {}),
    file,
    line: positionOf(doc.contents ?? undefined, lc).line,
    ...(match.success && match.data ? { match: match.data } : {}),
  };
}

/**
 * Loads policies for work that must not run on wrong ones (plan, apply, a simulation): any problem is a
 * UserError listing every one as file:line:col: message.
 */
export async function loadPoliciesOrFail(paths: string[]): Promise<PolicySet> {
  const set = await loadPolicies(paths);
  if (set.issues.length > 0) {
    const lines = set.issues.map(formatIssue).join('\n');
    throw new UserError(
      `the policies in ${paths.join(', ')} have ${set.issues.length} error(s); fix them (spotmax validate shows the same list):\n${lines}`,
    );
  }
  return set;
}
