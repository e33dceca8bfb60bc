import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import test from 'ava';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from './helpers/moto.js';

let moto: Moto;
test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

test('the SDK reaches the emulator over HTTP on loopback', async (t) => {
  t.regex(moto.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  const ec2 = new EC2Client({ region: TEST_REGION, endpoint: moto.endpoint, credentials: TEST_CREDENTIALS });
  const out = await ec2.send(new DescribeRegionsCommand({}));
  t.true((out.Regions ?? []).some((r) => r.RegionName === 'us-east-1'));
});
