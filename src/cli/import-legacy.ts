import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { convertLegacyConfig, parseLegacyJson } from '../config/legacy.js';
import { formatIssue, loadPoliciesFromText } from '../config/load.js';
import { SpotmaxError, UserError } from '../domain/errors.js';
import type { CommandIO } from './io.js';
import { readLegacySource } from './legacy-source.js';

// `spotmax import-legacy service_config.json|s3://bucket/key [-o OUT]`: max_group's config as policy YAML. The YAML
// goes to stdout or OUT; the report (queue options, notes, keys not converted) goes to stderr when
// the YAML is on stdout, so `> policies/legacy.yaml` captures only YAML.

export interface ImportLegacyOptions {
  out?: string;
}

export async function importLegacyCommand(
  file: string,
  opts: ImportLegacyOptions,
  io: CommandIO,
): Promise<number> {
  const fail = (message: string) => {
    io.stderr.write(`spotmax import-legacy: ${message}\n`);
    return 1;
  };
  let text: string;
  try {
    text = await readLegacySource(file, io.env);
  } catch (err) {
    if (err instanceof UserError) return fail(err.message);
    throw err;
  }
  let data: unknown;
  try {
    data = parseLegacyJson(text, file);
  } catch (err) {
    if (err instanceof UserError) return fail(err.message);
    throw err;
  }
  const result = convertLegacyConfig(data, basename(file));
  if (result.errors.length > 0) {
    for (const e of result.errors) io.stderr.write(`${file}: ${e}\n`);
    return fail(`${result.errors.length} value(s) cannot be converted; nothing written`);
  }
  // The output must be something `spotmax validate` accepts; anything else is our bug, not the user's.
  const check = loadPoliciesFromText(result.yaml, opts.out ?? '<output>');
  if (check.issues.length > 0) {
    throw new SpotmaxError(`converted YAML does not validate:\n${check.issues.map(formatIssue).join('\n')}`);
  }
  if (opts.out) await writeFile(opts.out, result.yaml);
  else io.stdout.write(result.yaml);

  const report = opts.out ? io.stdout : io.stderr;
  const n = result.policies.length;
  const lines = [
    `converted ${n} group${n === 1 ? '' : 's'} from ${file}${opts.out ? ` into ${opts.out}` : ''}`,
  ];
  if (result.queueUrls.length > 0) {
    lines.push('run spotmax with:', ...result.queueUrls.map((u) => `  --queue-url ${u}`));
  } else {
    lines.push(
      'no global.interruption_evt_sqs.queue_url: give spotmax the interruption queue with --queue-url',
    );
  }
  if (result.notes.length > 0) lines.push('notes:', ...result.notes.map((x) => `  - ${x}`));
  if (result.unknown.length > 0) {
    lines.push(
      `not converted (${result.unknown.length} unknown key(s)):`,
      ...result.unknown.map((x) => `  - ${x}`),
    );
  }
  report.write(`${lines.join('\n')}\n`);
  return 0;
}
