import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandIO } from '../cli/io.js';
import { UserError } from '../domain/errors.js';
import { fanOutMetrics } from '../observability/fanout.js';
import { startHealthServer } from '../observability/health-server.js';
import { PrometheusRegistry } from '../observability/prometheus.js';
import { silentLogger } from '../ports/logger.js';
import { createSimulatedRegion } from '../sim/region.js';
import { loadScenario } from '../sim/scenario.js';
import { attachDemoPrinter, demoLogger } from './demo-printer.js';
import { recordRegion } from './recorder.js';
import { spotmaxStrategy } from './strategies/spotmax.js';

// `npm start` = `spotmax run --cloud sim`: spotmax's real controllers against the simulated region, the
// clock running `speed` times faster than the wall clock, a line per event and action, /metrics and
// /healthz on 127.0.0.1. No AWS account and no network beyond loopback. Ctrl-C ends it with exit 0.

export interface SimDemoOptions {
  scenario?: string;
  policies?: string;
  speed: number;
  port: number;
  signal: AbortSignal;
}

/** bench/scenarios/ in the repository, from src/sim (tsx) or dist/sim (built) alike. */
export function defaultDemoScenario(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'scenarios', 'demo.yaml');
}

export async function runSimDemo(opts: SimDemoOptions, io: CommandIO): Promise<number> {
  if (!(opts.speed > 0)) throw new UserError(`--speed must be a positive number, not ${opts.speed}`);
  const path = opts.scenario ?? defaultDemoScenario();
  if (!existsSync(path)) throw new UserError(`demo scenario ${path} not found; pass --scenario FILE`);
  const scenario = loadScenario(path);
  const policiesDir =
    opts.policies ??
    (scenario.policies && scenario.dir ? resolve(scenario.dir, scenario.policies) : undefined);
  const region = createSimulatedRegion(scenario);
  const write = (line: string) => io.stdout.write(`${line}\n`);
  const instances = [...region.targets.values()].reduce((a, b) => a + b, 0);
  write(
    `spotmax demo: simulated region ${region.cloud.region}, scenario "${scenario.name}", ${region.targets.size} group(s), ${instances} instance(s), clock at ${opts.speed}x`,
  );
  write(`policies: ${policiesDir ?? '(none: defaults only)'}; Ctrl-C to stop`);

  await region.warmUp();
  const registry = new PrometheusRegistry();
  region.cloud.metrics = fanOutMetrics([region.metrics, registry]);
  attachDemoPrinter(region, write);
  const recorder = recordRegion(region);
  const strategy = spotmaxStrategy({ region, recorder, logger: demoLogger(region, write), policiesDir });

  const metrics = {
    exposition: () => {
      for (const [name, g] of region.asg.groups) {
        registry.record({
          name: 'SimInService',
          value: g.inService,
          unit: 'None',
          dimensions: { AutoScalingGroupName: name },
        });
      }
      registry.record({ name: 'SimVirtualTimeSeconds', value: region.clock.nowMs() / 1000, unit: 'None' });
      registry.record({ name: 'SimApiCalls', value: region.api.stats.calls, unit: 'None' });
      registry.record({ name: 'SimThrottles', value: region.api.stats.throttles, unit: 'None' });
      return registry.exposition();
    },
  };
  const health = () => ({
    ok: true,
    checks: { 'virtual-clock': { ok: true, message: region.clock.now().toISOString() } },
  });
  const server = await startHealthServer({
    port: opts.port,
    host: '127.0.0.1',
    checks: { live: health, ready: async () => health() },
    metrics,
    logger: silentLogger,
  }).catch((err: Error) => {
    throw new UserError(`${err.message}; pass another --port`, { cause: err });
  });
  write(`serving http://127.0.0.1:${server.port}/metrics and /healthz`);

  try {
    await strategy.start();
    await region.clock.runPaced({ speed: opts.speed, signal: opts.signal, until: region.end });
  } finally {
    // Stopping waits on the virtual clock: let it run unpaced until the controllers are down.
    let stopped = false;
    const stopping = strategy.stop().finally(() => {
      stopped = true;
    });
    for (let i = 0; i < 120 && !stopped; i++) await region.clock.advanceBy(1000);
    await stopping;
    await server.close();
  }
  const m = recorder.finish();
  write(
    `stopped at ${region.clock.now().toISOString().slice(11, 19)}: ${m.interruptions} interruption(s), ` +
      `${(m.handledBeforeDeadline * 100).toFixed(0)} % handled before the deadline, ${m.replacementSeconds.length} replaced, ` +
      `${region.api.stats.calls} API calls, ${region.api.stats.throttles} throttled`,
  );
  return 0;
}
