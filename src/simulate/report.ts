import { type ApiStats, isMutatingAction } from '../sim/api.js';
import type { Measurements, Series } from './recorder.js';
import type { StrategyName } from './strategies/types.js';

// report.json is a contract (issue 6): exactly these fields, in this shape. `series` (issue 15) is the
// time series the chart is drawn from, so a reader can check or re-plot it; `simulate --csv` writes the
// same numbers as rows. The peak API rate goes to the table only.

export interface StrategyReport {
  name: StrategyName;
  interruptions: number;
  /** null when the strategy saw no interruption: there was nothing to handle. */
  handledBeforeDeadline: number | null;
  capacityGapInstanceSeconds: number;
  replacementSeconds: { p50: number; p99: number };
  apiCalls: number;
  throttles: number;
  costVsOnDemand: number;
  actions: Record<string, number>;
  series: Series;
}

export interface SimulationReport {
  scenario: string;
  seed: number;
  strategies: StrategyReport[];
}

/** A strategy's report plus what only the table and the chart show. */
export interface StrategyRun {
  report: StrategyReport;
  peakApiPerSecond: number;
  timeline: number[];
  desiredTotal: number;
  unmatchedWarnings: number;
}

/** Nearest-rank percentile; 0 for no samples. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Mutating calls by action (the API doing the work), SQS bookkeeping left out, plus the strategy's own. */
export function actionCounts(stats: ApiStats, own: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [action, n] of Object.entries(stats.byAction).sort(([a], [b]) => a.localeCompare(b))) {
    if (isMutatingAction(action) && action !== 'DeleteMessage' && action !== 'ChangeMessageVisibility')
      out[action] = n;
  }
  for (const [k, n] of Object.entries(own)) if (n > 0) out[k] = n;
  return out;
}

export function strategyRun(
  name: StrategyName,
  m: Measurements,
  stats: ApiStats,
  own: Record<string, number>,
): StrategyRun {
  return {
    report: {
      name,
      interruptions: m.interruptions,
      handledBeforeDeadline: m.handledBeforeDeadline === null ? null : round(m.handledBeforeDeadline, 4),
      capacityGapInstanceSeconds: m.capacityGapInstanceSeconds,
      replacementSeconds: {
        p50: round(percentile(m.replacementSeconds, 50), 1),
        p99: round(percentile(m.replacementSeconds, 99), 1),
      },
      apiCalls: stats.calls,
      throttles: stats.throttles,
      costVsOnDemand: m.onDemandCost > 0 ? round(m.cost / m.onDemandCost, 4) : 0,
      actions: actionCounts(stats, own),
      series: m.series,
    },
    peakApiPerSecond: stats.peakPerSecond,
    timeline: m.timeline,
    desiredTotal: m.desiredTotal,
    unmatchedWarnings: m.interruptions - m.replacementSeconds.length,
  };
}

const handledText = (r: StrategyReport) =>
  r.handledBeforeDeadline === null ? 'none' : `${(r.handledBeforeDeadline * 100).toFixed(1)} %`;

/** The table's headline numbers for the chart's legend: gap, handled, cost (the same figures). */
export function headline(r: StrategyReport): string[] {
  return [
    `gap ${r.capacityGapInstanceSeconds.toLocaleString('en-US')} inst·s, ${r.interruptions} interruption(s)`,
    `handled<deadline ${r.handledBeforeDeadline === null ? 'none (no interruption)' : handledText(r)}`,
    `cost ${(r.costVsOnDemand * 100).toFixed(1)} % of all On-Demand`,
  ];
}

/** The summary table, one row per strategy. */
export function formatTable(runs: StrategyRun[]): string {
  const header = [
    'strategy',
    'interruptions',
    'handled<deadline',
    'capacity gap (inst·s)',
    'replacement p50',
    'p99',
    'API calls',
    'peak/s',
    'throttles',
    'cost vs OD',
  ];
  const rows = runs.map(({ report: r, peakApiPerSecond }) => [
    r.name,
    String(r.interruptions),
    handledText(r),
    r.capacityGapInstanceSeconds.toLocaleString('en-US'),
    r.interruptions ? `${r.replacementSeconds.p50.toFixed(1)} s` : '-',
    r.interruptions ? `${r.replacementSeconds.p99.toFixed(1)} s` : '-',
    r.apiCalls.toLocaleString('en-US'),
    String(peakApiPerSecond),
    String(r.throttles),
    `${(r.costVsOnDemand * 100).toFixed(1)} %`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The series of every strategy as CSV rows (one per strategy and slice), for a spreadsheet. */
export function formatSeriesCsv(report: SimulationReport): string {
  const rows = ['strategy,seconds,in_service,desired,spot,on_demand,standby,cost_per_hour'];
  for (const s of report.strategies) {
    const x = s.series;
    x.inService.forEach((v, k) => {
      const at = Math.round(k * x.stepSeconds * 1000) / 1000;
      rows.push(
        [s.name, at, v, x.desired[k], x.spot[k], x.onDemand[k], x.standby[k], x.costPerHour[k]].join(','),
      );
    });
  }
  return `${rows.join('\n')}\n`;
}
