// What the Kubernetes release step needs from Amazon EKS: where a cluster's API server is and how to
// prove spotmax's AWS identity to it. Built by aws/eks.ts; the simulated region has no EKS.

export interface EksClusterAccess {
  name: string;
  region: string;
  /** The API server's https URL (DescribeCluster cluster.endpoint). */
  endpoint: string;
  /** Base64 PEM of the cluster's certificate authority (cluster.certificateAuthority.data). */
  caData: string;
}

export interface EksToken {
  /** `k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL: the bearer token. */
  token: string;
  /** When the API server stops accepting it; refresh before. */
  expiresAt: Date;
}

export interface EksPort {
  /** The region used when a setting names none. */
  readonly defaultRegion: string;
  /** Endpoint and CA of `cluster` (eks:DescribeCluster). Throws a CloudError naming the cluster. */
  describeCluster(cluster: string, region?: string): Promise<EksClusterAccess>;
  /** A bearer token for `cluster`, reused while it has time left, made anew before it expires. */
  token(cluster: string, region?: string): Promise<EksToken>;
}
