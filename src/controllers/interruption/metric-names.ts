import { MetricNames } from '../../observability/metric-names.js';

// The names now live in observability/metric-names.ts. Kept only for controller.ts, which another change
// is rewriting; it should use MetricNames.EventsDiscarded, and then this file goes.
export const METRIC = { discarded: MetricNames.EventsDiscarded } as const;
