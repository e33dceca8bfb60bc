import { readFile } from 'node:fs/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { errorCode, isAccessDenied, UserError } from '../domain/errors.js';
import type { Env } from './io.js';

// Where `import-legacy` reads max_group's service_config.json: a local file, or s3://bucket/key where
// max_group's users keep it. The S3 read is the operator's: `import-legacy` runs once, on a laptop or in
// CI, with the operator's credentials (s3:GetObject on that object), never as the service. So this
// client lives here, beside the command, and not among the service's adapters in src/aws/ whose calls
// deploy/iam/spotmax-policy.json must grant: the service role is not widened for a one-off migration.

/** s3://bucket/key split, or undefined for a local path. */
export function parseS3Url(source: string): { bucket: string; key: string } | undefined {
  if (!source.startsWith('s3://')) return undefined;
  const rest = source.slice('s3://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1)
    throw new UserError(`${source}: expected s3://bucket/path/to/service_config.json`);
  return { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

/**
 * The text of a local file or an S3 object. Missing or unreadable sources are user errors that say what
 * to fix. S3 answers a missing key with AccessDenied (403) to a caller without s3:ListBucket on the
 * bucket, NoSuchKey (404) otherwise (GetObject API reference, "Permissions"), so both are explained.
 */
export async function readLegacySource(source: string, env: Env): Promise<string> {
  const s3 = parseS3Url(source);
  if (!s3) {
    try {
      return await readFile(source, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserError(
        code === 'ENOENT' ? `${source}: no such file` : `cannot read ${source}: ${String(err)}`,
      );
    }
  }
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const client = new S3Client({
    // A bucket in another region answers with a redirect the SDK follows when told to; us-east-1 is only
    // where the first request goes when no region is configured.
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    followRegionRedirects: true,
    // An emulator on 127.0.0.1 has no bucket subdomains: path-style addressing there.
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: s3.key }));
    if (!out.Body) throw new UserError(`${source}: S3 returned no body`);
    return await out.Body.transformToString('utf8');
  } catch (err) {
    const code = errorCode(err);
    if (code === 'NoSuchKey') throw new UserError(`${source}: no such key in bucket ${s3.bucket}`);
    if (code === 'NoSuchBucket') throw new UserError(`${source}: no such bucket ${s3.bucket}`);
    if (isAccessDenied(err))
      throw new UserError(
        `${source}: access denied. import-legacy reads it with your own credentials, which need s3:GetObject on arn:aws:s3:::${s3.bucket}/${s3.key} (without s3:ListBucket on the bucket, S3 also answers "access denied" for a key that does not exist)`,
      );
    throw err;
  } finally {
    client.destroy();
  }
}
