import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { createTestQueue, testClients } from '../helpers/aws-fixtures.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';

// The AWS SDK's NodeVersionSupportWarning (SDK releases after January 2027 need Node 22) is not printed by
// every command: the pinned SDK runs on the Node 20 that `engines` allows, so bin/spotmax.js silences it
// with the SDK's own switch, which a user may turn back on. Needs `npm run build` (npm test does it).

let moto: Moto;
test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

async function eventsSend(extraEnv: Record<string, string>) {
  const queueUrl = await createTestQueue(testClients(moto.endpoint).sqs, `warn-${Date.now()}`);
  return promisify(execFile)(
    'node',
    [
      'bin/spotmax.js',
      'events',
      'send',
      '--type',
      'spot-interruption',
      '--instance',
      'i-0123456789abcdef0',
      '--queue-url',
      queueUrl,
    ],
    {
      env: {
        ...process.env,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
        AWS_REGION: TEST_REGION,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        ...extraEnv,
      },
    },
  );
}

test.serial('a command that uses the SDK prints no Node-version warning', async (t) => {
  const out = await eventsSend({});
  t.regex(out.stdout, /sent EC2 Spot Instance Interruption Warning/);
  t.notRegex(out.stderr, /NodeVersionSupportWarning/);
});

test.serial('the SDK switch set to false shows it again (below Node 22, where the SDK warns)', async (t) => {
  const out = await eventsSend({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' });
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) t.regex(out.stderr, /NodeVersionSupportWarning/);
  else t.notRegex(out.stderr, /NodeVersionSupportWarning/, 'Node 22 and later: the SDK has nothing to say');
});
