import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import test from 'ava';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { createAwsCoordination } from '../../src/aws/cloud.js';
import { AwsCoordination } from '../../src/aws/coordination.js';
import { CloudError, isNotFound, isRetryable } from '../../src/domain/errors.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { createCoordinationTable } from '../helpers/coordination-table.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';
import { coordinationSuite } from './coordination.contract.js';

// The coordination contract against the DynamoDB adapter, on one moto server reset before each test,
// with the table created as deploy/cloudformation/spotmax.yaml creates it. Time is a VirtualClock: the
// store compares only the times the replicas write, so moving the clock is enough to expire things.

const TABLE = 'spotmax-coordination';
let moto: Moto | undefined;
test.after.always(async () => {
  await moto?.stop();
});

async function motoClient(onCall?: (service: string, command: string) => void): Promise<DynamoDBClient> {
  moto ??= await startMoto({ serial: true });
  return createDynamoDbClient({
    region: TEST_REGION,
    endpoint: moto.endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
    onCall,
  });
}

const createTable = (client: DynamoDBClient) => createCoordinationTable(client, TABLE);

const start = () => new VirtualClock(Date.parse('2026-11-22T16:00:00.250Z'));

coordinationSuite('aws', async () => {
  const client = await motoClient();
  await moto?.reset();
  await createTable(client);
  const clock = start();
  return {
    clock,
    advance: (ms) => clock.advanceBy(ms),
    replica: (c = clock) => new AwsCoordination({ client, table: TABLE, clock: c }),
    teardown: async () => client.destroy(),
  };
});

test.serial(
  'aws: rows as stored: a claim expires through the TTL attribute, a lease row never does',
  async (t) => {
    const client = await motoClient();
    await moto?.reset();
    await createTable(client);
    const clock = start();
    const store = new AwsCoordination({ client, table: TABLE, clock });
    await store.acquireLease('reconciler', 'a', 15_000);
    await store.claim('i-0abc', 'a', 30_000);
    const get = async (pk: string) =>
      (
        await client.send(
          new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } }, ConsistentRead: true }),
        )
      ).Item;
    const claim = await get('claim#i-0abc');
    t.deepEqual(claim?.expiresAt, { N: String(Math.ceil((clock.nowMs() + 30_000) / 1000)) });
    const lease = await get('lease#reconciler');
    t.deepEqual(lease?.leaseUntil, { N: String(clock.nowMs() + 15_000) });
    t.is(lease?.expiresAt, undefined, 'TTL deletion would restart the epoch');
    t.deepEqual(lease?.epoch, { N: '1' });
    client.destroy();
  },
);

test.serial(
  'aws: one conditional write per decision: a claim is one PutItem, a renewal one UpdateItem, a takeover two',
  async (t) => {
    const calls: string[] = [];
    const client = await motoClient((service, command) => calls.push(`${service}:${command}`));
    await moto?.reset();
    await createTable(client);
    calls.length = 0;
    const clock = start();
    const store = new AwsCoordination({ client, table: TABLE, clock });
    const other = new AwsCoordination({ client, table: TABLE, clock });
    const count = async (fn: () => Promise<unknown>) => {
      calls.length = 0;
      await fn();
      return [...calls];
    };
    t.deepEqual(await count(() => store.claim('i-0abc', 'a', 30_000)), ['dynamodb:PutItem']);
    t.deepEqual(
      await count(() => other.claim('i-0abc', 'b', 30_000)),
      ['dynamodb:PutItem'],
      'the holder comes with the refusal',
    );
    t.deepEqual(await count(() => store.acquireLease('reconciler', 'a', 15_000)), [
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
    ]);
    t.deepEqual(await count(() => store.acquireLease('reconciler', 'a', 15_000)), ['dynamodb:UpdateItem']);
    t.deepEqual(await count(() => other.acquireLease('reconciler', 'b', 15_000)), ['dynamodb:UpdateItem']);
    t.deepEqual(await count(() => store.checkLease('reconciler', 'a', 1)), ['dynamodb:GetItem']);
    client.destroy();
  },
);

test.serial(
  'aws: a missing table is an error naming the table and what was being done, not "held by another"',
  async (t) => {
    moto ??= await startMoto({ serial: true });
    await moto.reset();
    const store = createAwsCoordination({
      region: TEST_REGION,
      endpoint: moto.endpoint,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 1,
      table: 'no-such-table',
      clock: start(),
    });
    const err = await t.throwsAsync(store.claim('i-0abc', 'a', 30_000), { instanceOf: CloudError });
    t.true(isNotFound(err));
    t.false(isRetryable(err));
    t.regex(
      err?.message ?? '',
      /claiming i-0abc for a in no-such-table: PutItem failed \(ResourceNotFoundException\)/,
    );
    const lease = await t.throwsAsync(store.acquireLease('reconciler', 'a', 15_000), {
      instanceOf: CloudError,
    });
    t.regex(lease?.message ?? '', /acquiring the lease reconciler for a in no-such-table: UpdateItem failed/);
  },
);
