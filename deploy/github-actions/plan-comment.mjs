#!/usr/bin/env node
// Builds the pull-request comment (or the drift report) from `spotmax plan --format markdown
// --detailed-exitcode` and decides whether the check passes. Used by spotmax-policies.yml; plain Node,
// no dependencies, so it runs from the spotmax checkout before or without `npm ci`.
//
//   node plan-comment.mjs --plan plan.md --err plan.err --exit 2 --mode pr --sha <head sha> \
//     --region eu-west-1 --out comment.md [--summary summary.md]
//
// Exit code: 0 the check passes, 1 it fails. `--mode pr`: fails when plan reports problems or fails
// (exit 1 or anything but 0/2); pending changes are what a pull request is for.
//
// spotmax plan keeps terraform's -detailed-exitcode: 0 no changes, 2 changes pending, 1 problems OR an
// error (AccessDenied, a bad flag, no credentials). The two 1s differ in the plan output: a plan that
// ran prints it (problems included), one that failed prints nothing on stdout and its error on stderr.
// So exit 1 with an empty plan file (or any exit with none) is a failed plan, shown with its stderr,
// not an empty "problems" comment. `--mode drift` (the
// scheduled run): also fails on pending changes, since spotmax applies every minute and a plan of the
// main branch that still wants changes means the fleet drifted from the policies.
//
// The comment fits GitHub's limit of 65,536 characters per comment body: the summary comes first, the
// full plan follows folded in <details>, cut at a line boundary (open <details> and code fences
// closed) with a pointer to the job summary. --summary writes that summary: the same verdict, the whole
// plan unfolded (cut only past GitHub's 1 MiB per step summary) and stderr.

import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const MARKER = '<!-- spotmax-plan -->';
export const GITHUB_COMMENT_LIMIT = 65_536;
/** GitHub's limit of one step's job summary, in bytes. */
export const STEP_SUMMARY_LIMIT = 1024 * 1024;

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key?.startsWith('--') || argv[i + 1] === undefined)
      throw new Error(`plan-comment.mjs: expected --name value pairs, got "${key}"`);
    out[key.slice(2)] = argv[i + 1];
  }
  return out;
}

const readOr = (path, fallback) => {
  try {
    return path ? readFileSync(path, 'utf8') : fallback;
  } catch {
    return fallback;
  }
};

/** Whether plan failed rather than reported: an exit outside 0/1/2, or no plan output at all. */
export function planFailed(exitCode, plan) {
  return ![0, 1, 2].includes(exitCode) || !plan.trim();
}

/**
 * What the plan's exit code means (spotmax plan --detailed-exitcode: 0 none, 2 pending, 1 problems or
 * an error, told apart by whether a plan was printed).
 */
export function verdict(exitCode, mode, plan = '-') {
  if (planFailed(exitCode, plan))
    return {
      pass: false,
      headline: `:x: spotmax plan failed (exit ${exitCode}${[0, 1, 2].includes(exitCode) ? ', no plan printed' : ''}): its error is below`,
    };
  if (exitCode === 0) return { pass: true, headline: ':white_check_mark: no changes' };
  if (exitCode === 2)
    return mode === 'drift'
      ? { pass: false, headline: ':x: drift: the fleet differs from the policies (changes pending on the main branch)' }
      : { pass: true, headline: ':memo: changes pending (spotmax applies them once merged)' };
  return { pass: false, headline: ':x: problems: see the groups marked :warning:' };
}

const COMMENT_CUT = "GitHub's comment limit: the job summary has the whole plan";

/**
 * Cuts markdown to at most `max` (characters, or what `size` measures) at a line boundary, closing what
 * the cut left open, with a note of how much was cut and `why`.
 */
export function cut(markdown, max, why = COMMENT_CUT, size = (text) => text.length) {
  if (size(markdown) <= max) return markdown;
  const note = (n) => `\n\n_… ${n} more characters cut to fit ${why}._`;
  const closers = (fence, open) => (fence ? '\n```' : '') + '\n</details>'.repeat(Math.max(0, open));
  // Counted as lines are kept: an open code fence, and <details> opened but not yet closed. `length` is
  // in characters (for the note), `used` in what `size` measures (for the limit).
  let kept = 0;
  let length = 0;
  let used = 0;
  let fence = false;
  let open = 0;
  const lines = markdown.split('\n');
  for (const line of lines) {
    const nextLength = length + (kept > 0 ? 1 : 0) + line.length;
    const nextUsed = used + (kept > 0 ? 1 : 0) + size(line);
    const nextFence = line.startsWith('```') ? !fence : fence;
    const nextOpen = open + (line.match(/<details[\s>]/g) ?? []).length - (line.match(/<\/details>/g) ?? []).length;
    const tail = size(closers(nextFence, nextOpen) + note(markdown.length - nextLength));
    if (nextUsed + tail > max) break;
    kept++;
    length = nextLength;
    used = nextUsed;
    fence = nextFence;
    open = nextOpen;
  }
  return lines.slice(0, kept).join('\n') + closers(fence, open) + note(markdown.length - length);
}

/** The verdict, the plan's summary line and, for a failed plan, its stderr: the top of both outputs. */
function header({ plan, err, exitCode, mode, sha, region }) {
  const v = verdict(exitCode, mode, plan);
  const failed = planFailed(exitCode, plan);
  const summary = failed ? undefined : /^\*\*(.+)\*\*$/m.exec(plan)?.[1];
  const head = [
    MARKER,
    `### spotmax plan for \`${String(sha).slice(0, 7)}\` in ${region}`,
    '',
    `**${v.headline}**${summary ? ` · ${summary}` : ''}`,
    '',
  ];
  if (failed) {
    // The error is the whole story: shown open, under the verdict (stderr is also in the job summary).
    const stderr = ['```', err.trim() || '(nothing)', '```'].join('\n');
    head.push('spotmax plan failed with this on stderr:', '', cut(stderr, 16_000, 'the comment'), '');
  }
  return { pass: v.pass, failed, head: head.join('\n') };
}

export function buildComment(input) {
  const { pass, failed, head } = header(input);
  const { plan } = input;
  if (failed && !plan.trim()) return { pass, comment: `${head}\n` };
  const open = `<details><summary>${failed ? 'What it printed on stdout' : 'The whole plan'}</summary>\n\n`;
  const close = '\n\n</details>\n';
  const fixed = head.length + 1 + open.length + close.length;
  return { pass, comment: `${head}\n${open}${cut(plan, GITHUB_COMMENT_LIMIT - fixed)}${close}` };
}

/**
 * The job summary ($GITHUB_STEP_SUMMARY): the same verdict, then the whole plan unfolded, then stderr
 * folded. GitHub takes at most 1 MiB (bytes, not characters) per step's summary; a plan beyond that is
 * cut at a line boundary, with a note.
 */
export function buildSummary(input) {
  const { failed, head } = header(input);
  const { plan, err } = input;
  const stderr =
    !failed && err.trim()
      ? `\n<details><summary>stderr</summary>\n\n${cut(['```', err.trim(), '```'].join('\n'), 16_000, 'the summary')}\n\n</details>\n`
      : '';
  const bytes = (text) => Buffer.byteLength(text, 'utf8');
  const why = "the job summary's 1 MiB limit: `spotmax plan --format markdown` prints it whole";
  const body = cut(plan, STEP_SUMMARY_LIMIT - bytes(head) - 1 - bytes(stderr), why, bytes);
  return `${head}\n${body}${stderr}`;
}

// Run as a script (also through a symlink or from a path with spaces), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const a = args(process.argv.slice(2));
  const input = {
    plan: readOr(a.plan, ''),
    err: readOr(a.err, ''),
    exitCode: Number(a.exit),
    mode: a.mode === 'drift' ? 'drift' : 'pr',
    sha: a.sha ?? '',
    region: a.region ?? '',
  };
  const { pass, comment } = buildComment(input);
  writeFileSync(a.out ?? 'comment.md', comment);
  if (a.summary) writeFileSync(a.summary, buildSummary(input));
  process.exitCode = pass ? 0 : 1;
}
