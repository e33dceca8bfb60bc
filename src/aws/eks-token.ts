import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, ChecksumConstructor, HashConstructor } from '@smithy/types';
import type { EksToken } from '../ports/eks.js';

// The bearer token EKS accepts from an IAM identity, made the way `aws eks get-token` and
// aws-iam-authenticator make it (AWS CLI reference: eks get-token; EKS user guide: "Grant IAM users
// and roles access to Kubernetes APIs"): an STS GetCallerIdentity GET request presigned with SigV4,
// the header `x-k8s-aws-id: <cluster name>` among the signed headers so the token is good for that
// cluster only, X-Amz-Expires=60, and the whole URL base64url-encoded (no padding) behind
// `k8s-aws-v1.`. The API server (its authenticator) takes a token for 15 minutes after its
// X-Amz-Date; the CLI reports 14 so callers refresh early. Nothing is sent here: the API server
// itself calls STS with the URL.

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header that binds the token to one cluster. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** What the CLI puts in X-Amz-Expires. */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** How long the API server accepts a token after its X-Amz-Date. */
export const TOKEN_VALIDITY_MS = 15 * 60_000;

export interface PresignEksTokenInput {
  cluster: string;
  region: string;
  credentials: AwsCredentialIdentity;
  sha256: ChecksumConstructor | HashConstructor;
  /** Signing time (the injected clock's now). */
  now: Date;
}

/** The STS host a region's tokens name (China regions use amazonaws.com.cn). */
export function stsHost(region: string): string {
  return `sts.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/** One token, signed at `now`. It expires 15 minutes after `now`, or when the signing credentials do. */
export async function presignEksToken(input: PresignEksTokenInput): Promise<EksToken> {
  const hostname = stsHost(input.region);
  const signer = new SignatureV4({
    service: 'sts',
    region: input.region,
    credentials: input.credentials,
    sha256: input.sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: input.cluster },
    },
    { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: input.now },
  );
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v ?? '']]))
    .map(([k, v]) => `${encodeURIComponent(k as string)}=${encodeURIComponent(v as string)}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  const token = EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
  let expiresAt = input.now.getTime() + TOKEN_VALIDITY_MS;
  // A token signed with temporary credentials (the task role's) dies with them.
  const credentialsEnd = input.credentials.expiration?.getTime();
  if (credentialsEnd !== undefined && credentialsEnd < expiresAt) expiresAt = credentialsEnd;
  return { token, expiresAt: new Date(expiresAt) };
}
