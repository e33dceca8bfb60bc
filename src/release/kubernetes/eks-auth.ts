import { basename } from 'node:path';
import type { Cluster, Context, KubeConfig, User } from '@kubernetes/client-node';
import type { EksClusterAccess, EksPort } from '../../ports/eks.js';

// EKS authentication without the AWS CLI (the image has none): the Kubernetes client asks this
// authenticator for the Authorization header before each request, and it hands out the EKS port's
// k8s-aws-v1 token (cached there, signed anew before its 15 minutes run out). Two ways in:
// kubernetes.eks (endpoint and CA from DescribeCluster), and a kubeconfig whose user runs
// `aws eks get-token` or `aws-iam-authenticator token` (what `aws eks update-kubeconfig` writes):
// that exec is recognised and served by the same token code instead of being run.

/** The auth-provider name spotmax gives the users it serves (no kubeconfig uses it). */
export const EKS_AUTH_PROVIDER = 'spotmax-eks';

export interface EksTarget {
  cluster: string;
  region?: string;
}

export type ExecRecognition =
  | { kind: 'eks'; target: EksTarget }
  | { kind: 'unsupported'; message: string }
  | { kind: 'none' };

interface ExecConfig {
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
}

/** `--flag value` or `--flag=value` among `args`, for any of `names`. */
function flagValue(args: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    for (const name of names) {
      if (arg === name) return args[i + 1];
      if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
    }
  }
  return undefined;
}

/**
 * What a kubeconfig user's `exec` is: an EKS token command spotmax serves itself (aws eks get-token,
 * aws-iam-authenticator token), one it cannot serve, or no exec at all.
 */
export function recognizeExec(user: Pick<User, 'name' | 'exec'> | undefined): ExecRecognition {
  const exec = user?.exec as ExecConfig | undefined;
  if (!exec) return { kind: 'none' };
  const command = basename(exec.command ?? '');
  const args = exec.args ?? [];
  const envRegion = (exec.env ?? []).find(
    (e) => e.name === 'AWS_REGION' || e.name === 'AWS_DEFAULT_REGION',
  )?.value;
  let cluster: string | undefined;
  let role: string | undefined;
  if (command === 'aws' && args.includes('eks') && args.includes('get-token')) {
    cluster = flagValue(args, ['--cluster-name', '--cluster-id']);
    role = flagValue(args, ['--role-arn']);
  } else if (command === 'aws-iam-authenticator' && args.includes('token')) {
    cluster = flagValue(args, ['-i', '--cluster-id']);
    role = flagValue(args, ['-r', '--role']);
  } else {
    return {
      kind: 'unsupported',
      message: `user "${user?.name}" authenticates by running ${exec.command ?? '(no command)'}, which spotmax does not run; use kubernetes.eks, an EKS kubeconfig (aws eks get-token), a token or a client certificate`,
    };
  }
  if (!cluster)
    return {
      kind: 'unsupported',
      message: `user "${user?.name}" runs ${command} without a cluster name (--cluster-name or -i)`,
    };
  if (role)
    return {
      kind: 'unsupported',
      message: `user "${user?.name}" assumes role ${role} to sign its token; spotmax signs with its own role: give that role an EKS access entry instead (deploy/README.md) and drop the role argument`,
    };
  const region = flagValue(args, ['--region']) ?? envRegion;
  return { kind: 'eks', target: region ? { cluster, region } : { cluster } };
}

/** A user the authenticator below serves for `target`. */
function eksUser(name: string, target: EksTarget): User {
  return { name, authProvider: { name: EKS_AUTH_PROVIDER, config: { ...target } } };
}

/** The client's Authenticator shape (its auth.d.ts; the package does not export the type). */
type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

export class EksTokenAuthenticator implements Authenticator {
  constructor(private readonly eks: EksPort) {}

  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: string } | undefined)?.name === EKS_AUTH_PROVIDER;
  }

  async applyAuthentication(user: User, opts: { headers?: Record<string, unknown> }): Promise<void> {
    const config = (user.authProvider as { config: EksTarget }).config;
    const { token } = await this.eks.token(config.cluster, config.region);
    opts.headers ??= {};
    opts.headers.Authorization = `Bearer ${token}`;
  }
}

/**
 * Replaces the current user's EKS exec with a user the authenticator serves. The client's own exec
 * support is checked before custom authenticators, so the user has to change, not just be claimed.
 */
export function serveEksExec(kc: KubeConfig, target: EksTarget, eks: EksPort): void {
  const current = kc.getCurrentUser();
  const users = kc.getUsers().map((u) => (u === current ? eksUser(u.name, target) : u));
  kc.loadFromOptions({
    clusters: kc.getClusters(),
    users,
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  kc.addAuthenticator(new EksTokenAuthenticator(eks));
}

/** A kubeconfig for a described cluster: its endpoint, its CA, the EKS token user. */
export function eksKubeConfigOptions(access: EksClusterAccess): {
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext: string;
} {
  const name = `${access.region}/${access.name}`;
  return {
    clusters: [{ name, server: access.endpoint, caData: access.caData, skipTLSVerify: false }],
    users: [eksUser(name, { cluster: access.name, region: access.region })],
    contexts: [{ name, cluster: name, user: name }],
    currentContext: name,
  };
}
