import { createServer, type Socket } from 'node:net';
import test from 'ava';
import { createAwsCloud } from '../../src/aws/cloud.js';
import { CloudError } from '../../src/domain/errors.js';
import { TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';

// A server that accepts connections and never answers: the half-open connection that would otherwise
// hang a reconcile pass (or a fast-path handler slot) for minutes.
test('a call to an endpoint that never answers fails after the request timeout, as a retryable CloudError', async (t) => {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const cloud = createAwsCloud({
    region: TEST_REGION,
    endpoint: `http://127.0.0.1:${port}`,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
    requestTimeoutMs: 300,
  });
  const started = Date.now();
  const err = await t.throwsAsync(cloud.autoscaling.describeGroups(['web']));
  const elapsed = Date.now() - started;
  t.true(elapsed < 5_000, `gave up after ${elapsed} ms`);
  t.true(err instanceof CloudError, String(err));
  t.true((err as CloudError).retryable);
  t.regex(err!.message, /DescribeAutoScalingGroups/);
});
