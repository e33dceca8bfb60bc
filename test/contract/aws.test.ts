import test from 'ava';
import { testClients, testCloud } from '../helpers/aws-fixtures.js';
import { type Moto, startMoto } from '../helpers/moto.js';
import { AwsSeeder } from './aws-seeder.js';
import { contractSuite } from './ports.contract.js';

// The port contract against the AWS adapters, on one moto server reset before each test.
let moto: Moto | undefined;
test.after.always(async () => {
  await moto?.stop();
});

contractSuite('aws', async () => {
  moto ??= await startMoto();
  await moto.reset();
  return {
    cloud: testCloud(moto.endpoint),
    seed: new AwsSeeder(testClients(moto.endpoint)),
    teardown: async () => {},
  };
});
