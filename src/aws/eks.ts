import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { CloudError } from '../domain/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EksClusterAccess, EksPort, EksToken } from '../ports/eks.js';
import { awsCall } from './call.js';
import { presignEksToken } from './eks-token.js';

// EKS for the Kubernetes release step: the cluster's endpoint and CA from eks:DescribeCluster (cached:
// they change only when the cluster is replaced, and a drain must not wait on the EKS API) and the
// bearer token, made locally with the EKS client's own credential chain (the task role) and hasher.

/** A token is made anew when less than this is left of its 15 minutes (or of the credentials' life). */
export const TOKEN_REFRESH_BEFORE_MS = 2 * 60_000;
/** Endpoint and CA are described again after this long (a replaced cluster keeps its name). */
export const DESCRIBE_TTL_MS = 60 * 60_000;

export interface AwsEksOptions {
  defaultRegion: string;
  /** One EKS client per region, made on first use. */
  clientFor: (region: string) => EKSClient;
  clock?: Clock;
}

export class AwsEks implements EksPort {
  readonly defaultRegion: string;
  private readonly clock: Clock;
  private readonly clients = new Map<string, EKSClient>();
  private readonly described = new Map<string, { at: number; access: Promise<EksClusterAccess> }>();
  private readonly tokens = new Map<string, Promise<EksToken>>();

  constructor(private readonly opts: AwsEksOptions) {
    this.defaultRegion = opts.defaultRegion;
    this.clock = opts.clock ?? systemClock;
  }

  private client(region: string): EKSClient {
    let client = this.clients.get(region);
    if (!client) {
      client = this.opts.clientFor(region);
      this.clients.set(region, client);
    }
    return client;
  }

  describeCluster(cluster: string, region = this.defaultRegion): Promise<EksClusterAccess> {
    const key = `${region}/${cluster}`;
    const now = this.clock.now().getTime();
    const cached = this.described.get(key);
    if (cached && now - cached.at < DESCRIBE_TTL_MS) return cached.access;
    const access = this.describeNow(cluster, region);
    this.described.set(key, { at: now, access });
    // A failure is not cached: the next release asks again.
    access.catch(() => {
      if (this.described.get(key)?.access === access) this.described.delete(key);
    });
    return access;
  }

  private async describeNow(cluster: string, region: string): Promise<EksClusterAccess> {
    const context = `describing EKS cluster ${cluster} in ${region}`;
    const out = await awsCall('eks', 'DescribeCluster', context, () =>
      this.client(region).send(new DescribeClusterCommand({ name: cluster })),
    );
    const endpoint = out.cluster?.endpoint;
    const caData = out.cluster?.certificateAuthority?.data;
    if (!endpoint || !caData) {
      // A cluster still CREATING has neither yet (DescribeCluster API reference).
      throw new CloudError(
        'DescribeCluster',
        `${context}: no endpoint or certificate authority yet (status ${out.cluster?.status ?? 'unknown'})`,
        'ClusterNotReady',
        true,
      );
    }
    return { name: cluster, region, endpoint, caData };
  }

  token(cluster: string, region = this.defaultRegion): Promise<EksToken> {
    const key = `${region}/${cluster}`;
    const current = this.tokens.get(key);
    if (current) {
      return current.then(
        (t) =>
          t.expiresAt.getTime() - this.clock.now().getTime() > TOKEN_REFRESH_BEFORE_MS
            ? t
            : this.fresh(key, cluster, region, current),
        () => this.fresh(key, cluster, region, current),
      );
    }
    return this.fresh(key, cluster, region, undefined);
  }

  /** Signs a new token; concurrent callers that saw the same old one share it. */
  private fresh(
    key: string,
    cluster: string,
    region: string,
    old: Promise<EksToken> | undefined,
  ): Promise<EksToken> {
    const now = this.tokens.get(key);
    if (now && now !== old) return now;
    const next = (async () => {
      const config = this.client(region).config;
      let credentials: Awaited<ReturnType<typeof config.credentials>>;
      try {
        credentials = await config.credentials();
      } catch (err) {
        throw new CloudError(
          'GetCallerIdentity',
          `signing an EKS token for ${cluster} (no AWS credentials to sign with)`,
          'CredentialsProviderError',
          true,
          err,
        );
      }
      return presignEksToken({ cluster, region, credentials, sha256: config.sha256, now: this.clock.now() });
    })();
    this.tokens.set(key, next);
    next.catch(() => {
      if (this.tokens.get(key) === next) this.tokens.delete(key);
    });
    return next;
  }
}
