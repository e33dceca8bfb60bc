import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createService, type ServiceOptions } from '../app/service.js';
import type { CommandIO } from '../cli/io.js';
import { UserError } from '../domain/errors.js';
import { NoopReleaser } from '../release/noop.js';
import { createSimulatedRegion } from '../sim/region.js';
import { loadScenario } from '../sim/scenario.js';
import { attachDemoPrinter, demoLogger, Narrator } from './demo-printer.js';
import { recordRegion } from './recorder.js';

// `npm start` = `spotmax run --cloud sim`: the service spotmax runs in AWS (app/service.ts), built on the
// simulated region's cloud and its virtual clock running `speed` times faster than the wall clock. What
// differs from `run --cloud aws` is only the cloud, the clock and a printer: one line per event in the
// region and per action spotmax takes. /healthz, /readyz and /metrics on 127.0.0.1; the policy folder is
// watched and reloaded as in production. No AWS account and no network beyond loopback. Ctrl-C stops it
// (in-flight work gets --grace of virtual time) with exit 0.

export interface SimDemoOptions {
  scenario?: string;
  speed: number;
  signal: AbortSignal;
  /** The service's options, as `run` parsed them; the queue is the region's own. */
  service: Omit<ServiceOptions, 'queueUrls' | 'watchPolicies' | 'host'>;
}

/** bench/scenarios/ in the repository, from src/simulate (tsx) or dist/simulate (built) alike. */
export function defaultDemoScenario(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'scenarios', 'demo.yaml');
}

const NOOP = [new NoopReleaser()];

export async function runSimDemo(opts: SimDemoOptions, io: CommandIO): Promise<number> {
  if (!(opts.speed > 0)) throw new UserError(`--speed must be a positive number, not ${opts.speed}`);
  const scenario = loadScenario(opts.scenario ?? defaultDemoScenario());
  const policyDir =
    opts.service.policyDir ??
    (scenario.policies && scenario.dir ? resolve(scenario.dir, scenario.policies) : undefined);
  const region = createSimulatedRegion(scenario);
  const write = (line: string) => io.stdout.write(`${line}\n`);
  const narrator = new Narrator(region, write);
  const instances = [...region.targets.values()].reduce((a, b) => a + b, 0);
  write(
    `spotmax demo: simulated region ${region.cloud.region}, scenario "${scenario.name}", ${region.targets.size} group(s), ${instances} instance(s), clock at ${opts.speed}x`,
  );
  write(
    `times are the simulated clock's (UTC, from ${new Date(region.start).toISOString().slice(0, 16).replace('T', ' ')}), ${opts.speed}x faster than the wall clock`,
  );
  write(`policies: ${policyDir ?? '(none: defaults only)'}; Ctrl-C to stop`);

  const service = createService({
    cloud: region.cloud,
    clock: region.clock,
    logger: demoLogger(narrator),
    releasersFor: () => NOOP,
    // What `run --cloud aws` publishes on the default bus; the region keeps it (region.events).
    notifications: region.events,
    options: {
      ...opts.service,
      ...(policyDir ? { policyDir } : {}),
      queueUrls: [region.queueUrl],
      watchPolicies: true,
      host: '127.0.0.1',
    },
    beforeScrape: (metrics) => {
      for (const [name, g] of region.asg.groups)
        metrics.record({
          name: 'SimInService',
          value: g.inService,
          unit: 'None',
          dimensions: { AutoScalingGroupName: name },
        });
      metrics.record({ name: 'SimVirtualTimeSeconds', value: region.clock.nowMs() / 1000, unit: 'None' });
      metrics.record({ name: 'SimApiCalls', value: region.api.stats.calls, unit: 'None' });
      metrics.record({ name: 'SimThrottles', value: region.api.stats.throttles, unit: 'None' });
    },
  });

  await region.warmUp();
  attachDemoPrinter(region, narrator);
  const recorder = recordRegion(region);
  await service.start().catch((err: Error & { code?: string }) => {
    if (err.code === 'EADDRINUSE')
      throw new UserError(`port ${opts.service.port} is in use; pass another --port`, { cause: err });
    throw err;
  });
  if (service.port !== undefined)
    write(`serving http://127.0.0.1:${service.port}/metrics, /healthz and /readyz`);

  try {
    await region.clock.runPaced({ speed: opts.speed, signal: opts.signal, until: region.end });
  } finally {
    // Stopping waits on the virtual clock (the grace, the last requeues): let it run unpaced until done.
    await region.clock.drive(service.stop());
  }
  const m = recorder.finish();
  write(
    `stopped at ${region.clock.now().toISOString().slice(11, 19)} (simulated): ${m.interruptions} interruption(s), ` +
      (m.handledBeforeDeadline !== null
        ? `${(m.handledBeforeDeadline * 100).toFixed(0)} % handled before the deadline, `
        : 'none to handle, ') +
      `${m.replacementSeconds.length} replaced, ` +
      `${region.api.stats.calls} API calls, ${region.api.stats.throttles} throttled`,
  );
  return 0;
}
