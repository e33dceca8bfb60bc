import type { ObservedCounts } from '../plan-report.js';

/** One setting's value as a person reads it in a table cell. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function countsLine(o: ObservedCounts): string {
  const suspended = o.suspendedProcesses?.length ? `, suspended: ${o.suspendedProcesses.join(', ')}` : '';
  const units = o.inServiceUnits !== undefined ? ` (${o.inServiceUnits} units; sizes are in units)` : '';
  return `desired ${o.desired} (min ${o.min}, max ${o.max}), in service ${o.inService}${units}, spot ${o.spot}, on-demand ${o.onDemand}, standby ${o.standby}, volumes ${o.volumes}${suspended}`;
}
