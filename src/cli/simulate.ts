import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../domain/errors.js';
import { loadScenario, parseDuration } from '../sim/scenario.js';
import { renderCapacitySvg } from '../simulate/chart.js';
import { formatTable } from '../simulate/report.js';
import { runScenario } from '../simulate/runner.js';
import type { CommandIO } from './io.js';

export interface SimulateOptions {
  scenario: string;
  policies?: string;
  out?: string;
  seed?: string | number;
  /** Replaces the scenario's duration (seconds or "2h"): tests keep runs short with it. */
  duration?: string | number;
}

/**
 * `spotmax simulate`: plays a scenario under each of its strategies with the same seed, prints a table,
 * writes report.json (the stable contract) and capacity.svg. Exit 0, or 1 for a bad scenario or flag.
 */
export async function simulateCommand(opts: SimulateOptions, io: CommandIO): Promise<number> {
  const scenario = loadScenario(opts.scenario);
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    seed = Number(opts.seed);
    if (!Number.isInteger(seed)) throw new UserError(`--seed must be an integer, not "${opts.seed}"`);
  }
  let durationSeconds: number | undefined;
  if (opts.duration !== undefined) {
    try {
      durationSeconds = parseDuration(
        typeof opts.duration === 'number'
          ? opts.duration
          : /^\d+$/.test(opts.duration)
            ? Number(opts.duration)
            : opts.duration,
      );
    } catch (err) {
      throw new UserError(`--duration: ${(err as Error).message}`);
    }
  }
  const policiesDir =
    opts.policies ??
    (scenario.policies && scenario.dir ? resolve(scenario.dir, scenario.policies) : undefined);
  if (scenario.strategies.includes('spotmax') && !policiesDir) {
    io.stderr.write(
      'spotmax: no --policies and the scenario names none; the spotmax strategy runs with defaults only\n',
    );
  }
  const outDir = opts.out ?? 'simulation-out';
  const started = Date.now();
  const run = await runScenario(scenario, { seed, policiesDir, durationSeconds });
  const wall = ((Date.now() - started) / 1000).toFixed(1);
  const hours = (run.durationSeconds / 3600).toFixed(1);
  io.stdout.write(
    `scenario ${scenario.name} (seed ${run.report.seed}): ${hours} h simulated under ${scenario.strategies.length} strategies in ${wall} s\n\n`,
  );
  io.stdout.write(`${formatTable(run.runs)}\n\n`);
  io.stdout.write(
    'capacity gap: instance-seconds below the desired capacity (InService and running); replacement: warning to the next instance InService in the group; cost: instances billed against the desired capacity all On-Demand\n',
  );
  mkdirSync(outDir, { recursive: true });
  const reportPath = join(outDir, 'report.json');
  const svgPath = join(outDir, 'capacity.svg');
  writeFileSync(reportPath, `${JSON.stringify(run.report, null, 2)}\n`);
  writeFileSync(
    svgPath,
    renderCapacitySvg({
      title: `${scenario.name}: capacity InService by strategy (seed ${run.report.seed})`,
      durationSeconds: run.durationSeconds,
      desired: run.runs[0]?.desiredTotal ?? 0,
      series: run.runs.map((r) => ({ name: r.report.name, values: r.timeline })),
      marks: run.marks,
    }),
  );
  io.stdout.write(`wrote ${reportPath} and ${svgPath}\n`);
  return 0;
}
export type { CommandIO };
