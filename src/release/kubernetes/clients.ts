import { accessSync, constants, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { SpotmaxError } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { EksPort } from '../../ports/eks.js';
import { type EksTarget, eksKubeConfigOptions, recognizeExec, serveEksExec } from './eks-auth.js';
import { NodeIndex } from './node-index.js';

// One Kubernetes client per kubeconfig path, shared by every group that names the same file, so a
// storm of interruptions in one cluster shares one node index and no client-side rate limiter
// throttles the cordons. The file's mtime is checked on each use: a rotated kubeconfig (new token,
// new CA) is picked up without a restart. kubernetes.eks clusters get one client per region/cluster,
// rebuilt when DescribeCluster answers another endpoint or CA; their tokens come from the EKS port.

/** Where a group's cluster is: a kubeconfig file (wins when set) or an EKS cluster. */
export interface KubeTarget {
  kubeconfig?: string;
  eks?: EksTarget;
}

export interface KubeClient {
  path: string;
  core: CoreV1Api;
  nodes: NodeIndex;
  server: string;
}

/** A kubeconfig that cannot be used; the releaser reports it as a `failed` outcome, `plan` shows it. */
export class KubeconfigError extends SpotmaxError {
  override name = 'KubeconfigError';
}

/** What is wrong with the kubeconfig at `path`, or undefined when it is usable. Synchronous, for `plan`. */
export function checkKubeconfig(path: string | undefined): string | undefined {
  if (!path)
    return 'kubernetes is enabled but no kubeconfig is set (kubernetes.kubeconfig or tag spotmax:k8s_config_file_path)';
  try {
    statSync(path);
    accessSync(path, constants.R_OK);
  } catch (err) {
    return describeFsProblem(path, err);
  }
  try {
    loadKubeConfig(path, 'check');
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return undefined;
}

function describeFsProblem(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `kubeconfig ${path} does not exist`;
  if (code === 'EACCES' || code === 'EPERM') return `kubeconfig ${path} is not readable (permission denied)`;
  return `kubeconfig ${path} cannot be read: ${(err as Error).message}`;
}

function loadKubeConfig(path: string, eks?: EksPort | 'check'): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${path} cannot be parsed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new KubeconfigError(
      `kubeconfig ${path} has no cluster for its current context "${kc.getCurrentContext()}"`,
    );
  }
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new KubeconfigError(
      `kubeconfig ${path}: cluster ${cluster.server} uses plain http, which the client refuses without insecure-skip-tls-verify`,
    );
  }
  const exec = recognizeExec(kc.getCurrentUser() ?? undefined);
  if (exec.kind === 'unsupported') throw new KubeconfigError(`kubeconfig ${path}: ${exec.message}`);
  if (exec.kind === 'eks' && eks !== 'check') {
    if (!eks)
      throw new KubeconfigError(
        `kubeconfig ${path}: its user signs EKS tokens with AWS credentials, which this cloud has none of (use --cloud aws)`,
      );
    serveEksExec(kc, exec.target, eks);
  }
  return kc;
}

export class KubeClients {
  private readonly entries = new Map<string, { mtimeMs: number; client: KubeClient }>();
  private readonly eksEntries = new Map<string, { version: string; client: KubeClient }>();

  constructor(
    private readonly clock: Clock,
    private readonly nodeIndexTtlMs = 10_000,
    /** EKS (DescribeCluster and tokens); absent where there is no AWS (the simulated region). */
    private readonly eks?: EksPort,
  ) {}

  /**
   * The client for a kubeconfig path or a group's target (a kubeconfig wins over kubernetes.eks), rebuilt
   * when the file or the cluster changed. Throws KubeconfigError (or the EKS port's CloudError).
   */
  async get(target: string | undefined | KubeTarget): Promise<KubeClient> {
    const t: KubeTarget = typeof target === 'object' ? target : { kubeconfig: target };
    if (!t.kubeconfig && t.eks) return this.getEks(t.eks);
    return this.getFile(t.kubeconfig);
  }

  private async getEks(target: EksTarget): Promise<KubeClient> {
    if (!this.eks)
      throw new KubeconfigError(
        `kubernetes.eks (cluster ${target.cluster}) needs AWS: this cloud has no EKS (use --cloud aws)`,
      );
    const access = await this.eks.describeCluster(target.cluster, target.region);
    const key = `${access.region}/${access.name}`;
    const version = `${access.endpoint}\n${access.caData}`;
    const cached = this.eksEntries.get(key);
    if (cached?.version === version) return cached.client;
    const kc = new KubeConfig();
    kc.loadFromOptions(eksKubeConfigOptions(access));
    serveEksExec(kc, { cluster: access.name, region: access.region }, this.eks);
    const core = kc.makeApiClient(CoreV1Api);
    const client: KubeClient = {
      path: `eks:${key}`,
      core,
      server: access.endpoint,
      nodes: new NodeIndex(core, this.clock, this.nodeIndexTtlMs),
    };
    this.eksEntries.set(key, { version, client });
    return client;
  }

  private async getFile(path: string | undefined): Promise<KubeClient> {
    if (!path) throw new KubeconfigError(checkKubeconfig(path) as string);
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(path)).mtimeMs;
    } catch (err) {
      throw new KubeconfigError(describeFsProblem(path, err), { cause: err });
    }
    const cached = this.entries.get(path);
    if (cached && cached.mtimeMs === mtimeMs) return cached.client;
    let kc: KubeConfig;
    try {
      kc = loadKubeConfig(path, this.eks);
    } catch (err) {
      if (err instanceof KubeconfigError) throw err;
      throw new KubeconfigError(describeFsProblem(path, err), { cause: err });
    }
    const core = kc.makeApiClient(CoreV1Api);
    const client: KubeClient = {
      path,
      core,
      server: kc.getCurrentCluster()?.server ?? '',
      nodes: new NodeIndex(core, this.clock, this.nodeIndexTtlMs),
    };
    this.entries.set(path, { mtimeMs, client });
    return client;
  }
}
