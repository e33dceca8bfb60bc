export type MetricUnit = 'Count' | 'Seconds' | 'Milliseconds' | 'None';

export interface MetricDatum {
  name: string;
  value: number;
  unit: MetricUnit;
  /** Dimension values; spotmax uses AutoScalingGroupName and Reason. */
  dimensions?: Record<string, string>;
  timestamp?: Date;
}

/** Where metrics go (CloudWatch, Prometheus, the simulator's sink). Implementations batch. */
export interface MetricsPort {
  record(datum: MetricDatum): void;
  flush(): Promise<void>;
}

export const noMetrics: MetricsPort = { record: () => {}, flush: async () => {} };
