import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { VirtualClock } from '../src/sim/clock.js';
import { loadScenario } from '../src/sim/scenario.js';
import { runStrategy } from '../src/simulate/runner.js';

// The simulator's scale benchmark (issue 6): spotmax's real controllers against the simulated region.
//  1. scale.yaml: 50 groups x 40 instances for 24 simulated hours: wall time, CPU time, events/s.
//  2. scale-large.yaml: 500 groups x 100 instances (50,000) for 30 simulated minutes: peak RSS.
// `npm run bench -- sim-day` plays scale-large for 24 simulated hours instead (issue 16; minutes of wall
// time, so it is a separate entry and not part of a plain `npm run bench`).
// Wall time on a shared 2-core machine depends on the neighbours, so CPU time is printed beside it.

// A full collection before each heap reading: the heap's floor, what the run keeps (issue 16: it grew
// 180 -> 615 MB in 3-4 simulated hours while the heap right after a pass says little).
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const scenarios = fileURLToPath(new URL('./scenarios/', import.meta.url));
const policies = `${scenarios}policies`;

interface RunFigures {
  wallSeconds: number;
  cpuSeconds: number;
  events: number;
  simulatedHours: number;
  instances: number;
  interruptions: number;
  apiCalls: number;
  throttles: number;
  /** null: no interruption, nothing to handle. */
  handled: number | null;
  /** Heap after a full collection and RSS, MB, at every `sampleHours` of simulated time. */
  samples: { hour: number; heapMb: number; rssMb: number; cpuSeconds: number }[];
}

async function play(file: string, durationSeconds?: number, sampleHours?: number): Promise<RunFigures> {
  const scenario = loadScenario(`${scenarios}${file}`);
  if (durationSeconds !== undefined) scenario.duration = durationSeconds;
  let clock: VirtualClock | undefined;
  let instances = 0;
  const samples: RunFigures['samples'] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  const run = await runStrategy(scenario, 'spotmax', {
    policiesDir: policies,
    onRegion: (region) => {
      clock = region.clock;
      instances = [...region.targets.values()].reduce((a, b) => a + b, 0);
      if (!sampleHours) return;
      // Read on the region's own clock, between two of its events: the run sees one more event per sample.
      for (let h = sampleHours; h * 3600 <= scenario.duration; h += sampleHours) {
        const hour = h;
        region.clock.at(region.start + hour * 3600_000, () => {
          gc();
          const used = process.cpuUsage(cpu);
          const sample = {
            hour,
            heapMb: process.memoryUsage().heapUsed / 1048576,
            rssMb: process.memoryUsage().rss / 1048576,
            cpuSeconds: (used.user + used.system) / 1e6,
          };
          samples.push(sample);
          // On stderr as it comes: a run of many minutes shows how it goes before its figures.
          const top = Object.entries(region.api.stats.throttlesByAction)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 4)
            .map(([action, n]) => `${action} ${n}`)
            .join(', ');
          console.error(
            `  ${file} ${hour} h: heap after GC ${sample.heapMb.toFixed(0)} MB, RSS ${sample.rssMb.toFixed(0)} MB, CPU ${sample.cpuSeconds.toFixed(0)} s, API calls ${region.api.stats.calls}, throttled ${region.api.stats.throttles}${top ? ` (most: ${top})` : ''}`,
          );
        });
      }
    },
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    wallSeconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    events: clock?.fired ?? 0,
    simulatedHours: scenario.duration / 3600,
    instances,
    interruptions: run.report.interruptions,
    apiCalls: run.report.apiCalls,
    throttles: run.report.throttles,
    handled: run.report.handledBeforeDeadline,
    samples,
  };
}

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

export async function benchSim(): Promise<Record<string, number | string>> {
  const day = await play('scale.yaml');
  const rssAfterDay = process.resourceUsage().maxRSS;
  const large = await play('scale-large.yaml');
  const rssAfterLarge = process.resourceUsage().maxRSS;
  return {
    '24 h, 50 groups, instances': day.instances,
    '24 h: wall time (s)': day.wallSeconds.toFixed(1),
    '24 h: CPU time (s)': day.cpuSeconds.toFixed(1),
    '24 h: simulated events': day.events,
    '24 h: events per wall second': Math.round(day.events / day.wallSeconds),
    '24 h: interruptions / handled before deadline': `${day.interruptions} / ${day.handled === null ? 'none' : `${(day.handled * 100).toFixed(1)} %`}`,
    '24 h: API calls / throttled': `${day.apiCalls} / ${day.throttles}`,
    '24 h: peak RSS': mb(rssAfterDay),
    [`${large.simulatedHours} h, 500 groups, instances`]: large.instances,
    [`${large.simulatedHours} h (500 groups): wall time (s)`]: large.wallSeconds.toFixed(1),
    [`${large.simulatedHours} h (500 groups): CPU time (s)`]: large.cpuSeconds.toFixed(1),
    [`${large.simulatedHours} h (500 groups): simulated events`]: large.events,
    [`${large.simulatedHours} h (500 groups): interruptions`]: large.interruptions,
    'peak RSS (whole process, after both)': mb(rssAfterLarge),
  };
}

/** scale-large (500 groups x 100 instances) for 24 simulated hours: wall time, CPU, peak RSS. */
export async function benchSimDay(): Promise<Record<string, number | string>> {
  const day = await play('scale-large.yaml', 24 * 3600, 2);
  const every = (f: (s: RunFigures['samples'][number]) => number) =>
    day.samples.map((s) => `${s.hour}h ${f(s).toFixed(0)}`).join(', ');
  return {
    '24 h, 500 groups, instances': day.instances,
    '24 h (500 groups): wall time (s)': day.wallSeconds.toFixed(1),
    '24 h (500 groups): CPU time (s)': day.cpuSeconds.toFixed(1),
    '24 h (500 groups): simulated events': day.events,
    '24 h (500 groups): interruptions / handled before deadline': `${day.interruptions} / ${day.handled === null ? 'none' : `${(day.handled * 100).toFixed(1)} %`}`,
    '24 h (500 groups): API calls / throttled': `${day.apiCalls} / ${day.throttles}`,
    '24 h (500 groups): peak RSS (whole process)': mb(process.resourceUsage().maxRSS),
    'heap after GC, MB, every 2 simulated hours': every((s) => s.heapMb),
    'RSS, MB, every 2 simulated hours': every((s) => s.rssMb),
    'CPU s used by then, every 2 simulated hours': every((s) => s.cpuSeconds),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const figures = await benchSim();
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(48)} ${v}`);
}
