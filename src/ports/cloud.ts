import type { AutoScalingPort } from './autoscaling.js';
import type { Ec2Port } from './ec2.js';
import type { EksPort } from './eks.js';
import type { MetricsPort } from './metrics.js';
import type { QueuePort } from './queue.js';

/** Everything spotmax needs from a region: built by aws/ for real, by sim/ for the simulated region. */
export interface Cloud {
  region: string;
  autoscaling: AutoScalingPort;
  ec2: Ec2Port;
  queue: QueuePort;
  metrics: MetricsPort;
  /** Amazon EKS, for kubernetes.eks (absent on the simulated region, which has no Kubernetes). */
  eks?: EksPort;
}
