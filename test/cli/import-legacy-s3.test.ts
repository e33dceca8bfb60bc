import { readFile } from 'node:fs/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import test from 'ava';
import { runMain } from '../helpers/cli.js';
import { type Moto, startMoto, TEST_CREDENTIALS } from '../helpers/moto.js';

// import-legacy reads max_group's service_config.json from S3, where its users keep it, through the real
// S3 client against moto's S3 over HTTP, with the operator's credentials (the SDK's chain).

process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;

const LEGACY = new URL('../fixtures/legacy/service_config.json', import.meta.url).pathname;
let moto: Moto;

test.before(async () => {
  moto = await startMoto();
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'max-group-config' }));
  await s3.send(
    new PutObjectCommand({
      Bucket: 'max-group-config',
      Key: 'prod/service_config.json',
      Body: await readFile(LEGACY, 'utf8'),
    }),
  );
});
test.after.always(async () => {
  await moto?.stop();
});

const cli = (args: string[]) => runMain(args, { AWS_ENDPOINT_URL: moto.endpoint });

test('import-legacy s3://bucket/key converts the object as it would the file', async (t) => {
  const fromS3 = await cli(['import-legacy', 's3://max-group-config/prod/service_config.json']);
  t.is(fromS3.code, 0, fromS3.stderr);
  const fromFile = await cli(['import-legacy', LEGACY]);
  t.is(fromS3.stdout, fromFile.stdout, 'the same YAML');
  t.regex(fromS3.stdout, /kind: GroupPolicy/);
  t.regex(fromS3.stderr, /converted \d+ groups from s3:\/\/max-group-config\/prod\/service_config\.json/);
  t.regex(fromS3.stderr, /--queue-url https:\/\/sqs\.us-east-2\.amazonaws\.com\//);
});

test('a missing key, a missing bucket or a malformed URL is a user error saying which', async (t) => {
  const key = await cli(['import-legacy', 's3://max-group-config/prod/nope.json']);
  t.is(key.code, 1);
  t.regex(key.stderr, /s3:\/\/max-group-config\/prod\/nope\.json: no such key in bucket max-group-config/);
  const bucket = await cli(['import-legacy', 's3://no-such-bucket-here/service_config.json']);
  t.is(bucket.code, 1);
  t.regex(bucket.stderr, /no such bucket no-such-bucket-here/);
  const url = await cli(['import-legacy', 's3://just-a-bucket']);
  t.is(url.code, 1);
  t.regex(url.stderr, /expected s3:\/\/bucket\/path\/to\/service_config\.json/);
});
