// The seed passes `spotmax:k8s_node_drain_option` straight to `kubectl drain`. spotmax drains through
// the API itself, so it reads the flags that change what is evicted and how long it takes:
//   --ignore-daemonsets            DaemonSet pods are left alone (always: evicting them is pointless,
//                                  the DaemonSet controller ignores cordons and recreates them)
//   --delete-emptydir-data         pods with emptyDir volumes are evicted (alias --delete-local-data);
//                                  without it they are kept and reported, as kubectl refuses them
//   --force                        pods without a controller are evicted too; without it they are kept
//                                  and reported
//   --grace-period=N               each pod's grace period (negative: the pod's own), still capped by
//                                  the time left
//   --timeout=Ns|Nm|Nh             a drain time limit, tighter of it and drainTimeoutSeconds
// Ignored, with a note in `unknown`: --pod-selector, --selector, --disable-eviction (spotmax always
// uses the Eviction API so PodDisruptionBudgets hold), --skip-wait-for-delete-timeout, --dry-run,
// --chunk-size and anything else.

export interface DrainOptions {
  ignoreDaemonsets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
  /** Seconds; undefined = each pod's own terminationGracePeriodSeconds. */
  gracePeriodSeconds?: number;
  /** Seconds; undefined = drainTimeoutSeconds alone. */
  timeoutSeconds?: number;
  /** Flags that were present but are not acted on. */
  ignored: string[];
}

function parseDuration(text: string): number | undefined {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const seconds = unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
  // kubectl's --timeout=0 means "infinite": leave the limit to drainTimeoutSeconds.
  return seconds > 0 ? seconds : undefined;
}

function isTrue(value: string | undefined): boolean {
  return value === undefined || value === '' || value === 'true';
}

export function parseDrainOptions(text: string | undefined): DrainOptions {
  const out: DrainOptions = { ignoreDaemonsets: true, deleteEmptyDirData: false, force: false, ignored: [] };
  if (!text) return out;
  const tokens = text.split(/\s+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    const eq = token.indexOf('=');
    const flag = eq >= 0 ? token.slice(0, eq) : token;
    let value = eq >= 0 ? token.slice(eq + 1) : undefined;
    const takesValue = flag === '--grace-period' || flag === '--timeout';
    if (takesValue && value === undefined && i + 1 < tokens.length) value = tokens[++i];
    switch (flag) {
      case '--ignore-daemonsets':
        out.ignoreDaemonsets = isTrue(value);
        break;
      case '--delete-emptydir-data':
      case '--delete-local-data':
        out.deleteEmptyDirData = isTrue(value);
        break;
      case '--force':
        out.force = isTrue(value);
        break;
      case '--grace-period': {
        const n = Number(value);
        if (Number.isInteger(n) && n >= 0) out.gracePeriodSeconds = n;
        else if (!(Number.isInteger(n) && n < 0)) out.ignored.push(token);
        break;
      }
      case '--timeout': {
        const seconds = value === undefined ? undefined : parseDuration(value);
        if (seconds !== undefined) out.timeoutSeconds = seconds;
        else if (value === undefined || !/^0+(s|m|h)?$/.test(value)) out.ignored.push(token);
        break;
      }
      default:
        out.ignored.push(token);
    }
  }
  if (!out.ignoreDaemonsets) {
    // kubectl would refuse to drain; spotmax never evicts DaemonSet pods, so it says so instead.
    out.ignored.push('--ignore-daemonsets=false (DaemonSet pods are never evicted)');
    out.ignoreDaemonsets = true;
  }
  return out;
}
