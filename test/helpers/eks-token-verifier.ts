import { spawnSync } from 'node:child_process';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// What EKS's authenticator (aws-iam-authenticator) checks on a `k8s-aws-v1.` bearer token before it
// hands the URL to STS, written here independently of the SDK's signer so a wrong signature, a wrong
// cluster header, a stale date or a foreign query parameter fails: the prefix, base64url without
// padding, an https STS host, only the parameters a presigned GetCallerIdentity has, X-Amz-Expires=60,
// host and x-k8s-aws-id among the signed headers, X-Amz-Date no older than 15 minutes, and a SigV4
// signature recomputed from the known test credentials.

export interface VerifyEksTokenOptions {
  cluster: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  now: () => Date;
  region?: string;
}

const ALLOWED_PARAMS = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signedheaders',
  'x-amz-signature',
]);
const VALIDITY_MS = 15 * 60_000;

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

function parseAmzDate(s: string): number | undefined {
  const m = s.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, se);
}

/** Why `authorization` is refused, or undefined when it is a good token for the cluster. */
export function verifyEksToken(
  authorization: string | undefined,
  opts: VerifyEksTokenOptions,
): string | undefined {
  const prefix = 'Bearer k8s-aws-v1.';
  if (!authorization?.startsWith(prefix)) return 'no k8s-aws-v1 bearer token';
  const encoded = authorization.slice(prefix.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return 'token is not base64url without padding';
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return 'token is not a URL';
  }
  if (url.protocol !== 'https:') return `scheme ${url.protocol}`;
  if (!/^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.test(url.hostname)) return `host ${url.hostname}`;
  if (opts.region && url.hostname !== `sts.${opts.region}.amazonaws.com`) return `host ${url.hostname}`;
  if (url.pathname !== '/') return `path ${url.pathname}`;
  const q = url.searchParams;
  for (const key of q.keys()) if (!ALLOWED_PARAMS.has(key.toLowerCase())) return `parameter ${key}`;
  if (q.get('Action') !== 'GetCallerIdentity') return `action ${q.get('Action')}`;
  if (q.get('Version') !== '2011-06-15') return `version ${q.get('Version')}`;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'algorithm';
  if (q.get('X-Amz-Expires') !== '60') return `X-Amz-Expires ${q.get('X-Amz-Expires')}`;
  const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-k8s-aws-id'))
    return `signed headers ${signedHeaders.join(';')}`;
  const amzDate = q.get('X-Amz-Date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return `X-Amz-Date ${amzDate}`;
  const now = opts.now().getTime();
  if (now - signedAt > VALIDITY_MS) return 'token expired (X-Amz-Date older than 15 minutes)';
  if (signedAt - now > 5 * 60_000) return 'X-Amz-Date in the future';
  const [akid, day, region, service, term] = (q.get('X-Amz-Credential') ?? '').split('/');
  if (akid !== opts.credentials.accessKeyId) return `access key ${akid}`;
  if (day !== amzDate.slice(0, 8) || service !== 'sts' || term !== 'aws4_request' || !region)
    return 'credential scope';
  if ((q.get('X-Amz-Security-Token') ?? undefined) !== opts.credentials.sessionToken) return 'session token';

  const headers: Record<string, string> = { host: url.host, 'x-k8s-aws-id': opts.cluster };
  const canonicalQuery = [...q.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${(headers[h] ?? '').trim()}\n`).join('');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    sha256hex(''),
  ].join('\n');
  const scope = `${day}/${region}/sts/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${opts.credentials.secretAccessKey}`, day), region), 'sts'),
    'aws4_request',
  );
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(q.get('X-Amz-Signature') ?? '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return 'signature does not match (wrong cluster, credentials or request)';
  return undefined;
}

/** A self-signed certificate for 127.0.0.1 (openssl), for an https test server and its CA. */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'spotmax-cert-'));
  try {
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    if (r.error || r.status !== 0)
      throw new Error(
        `openssl could not make a test certificate (${r.error?.message ?? r.stderr}); install it: apt-get install -y openssl`,
      );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
