import { PassThrough } from 'node:stream';
import { SuspendProcessesCommand } from '@aws-sdk/client-auto-scaling';
import test from 'ava';
import { main } from '../../src/main.js';
import { seedGroup, testClients } from '../helpers/aws-fixtures.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';

// plan shows a group's suspended processes, read through the real adapter from moto, and says what a
// suspended Launch means for spotmax ("Suspend and resume Amazon EC2 Auto Scaling processes").

let moto: Moto;
process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;

test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

async function plan(format: string) {
  const out = new PassThrough();
  let stdout = '';
  out.on('data', (d) => (stdout += d));
  const code = await main(
    ['plan', '--format', format],
    { AWS_REGION: TEST_REGION, AWS_ENDPOINT_URL: moto.endpoint },
    { stdout: out, stderr: new PassThrough() },
  );
  return { code, stdout };
}

test.serial('plan lists suspended processes and explains a suspended Launch', async (t) => {
  await moto.reset();
  const clients = testClients(moto.endpoint);
  await seedGroup(clients, { name: 'fixed', desired: 1, tags: { 'spotmax:standby_size': '1' } });
  await seedGroup(clients, { name: 'plain', desired: 1, tags: { 'spotmax:enabled': 'true' } });
  await clients.autoscaling.send(
    new SuspendProcessesCommand({
      AutoScalingGroupName: 'fixed',
      ScalingProcesses: ['Launch', 'AZRebalance'],
    }),
  );
  const json = await plan('json');
  t.is(json.code, 0);
  const groups = JSON.parse(json.stdout).groups as {
    name: string;
    problems: string[];
    observed: { suspendedProcesses: string[] };
  }[];
  const fixed = groups.find((g) => g.name === 'fixed')!;
  t.deepEqual([...fixed.observed.suspendedProcesses].sort(), ['AZRebalance', 'Launch']);
  t.true(
    fixed.problems.some((p) =>
      /^Launch is suspended: .*swaps in a standby or detaches an interrupted member with decrement/.test(p),
    ),
    fixed.problems.join('\n'),
  );
  const plain = groups.find((g) => g.name === 'plain')!;
  t.deepEqual(plain.observed.suspendedProcesses, []);
  t.false(plain.problems.some((p) => p.startsWith('Launch is suspended')));
  const text = await plan('text');
  t.regex(text.stdout, /suspended: (Launch, AZRebalance|AZRebalance, Launch)/);
});
