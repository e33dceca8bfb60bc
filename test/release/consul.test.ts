import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { defaultSettings, type GroupSettings } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { systemClock } from '../../src/ports/clock.js';
import type { Logger } from '../../src/ports/logger.js';
import type { ReleaseRequest } from '../../src/ports/releaser.js';
import { ConsulReleaser } from '../../src/release/consul/releaser.js';
import { runReleasers } from '../../src/release/run.js';
import { startConsulServer } from '../helpers/consul-server.js';

// Every agent address points at 127.0.0.1 ({port} is the test server's); the instances' private IPs
// are only data here and are never contacted.

/** The service's real logger (pino, JSON lines) writing into `lines`, at debug level. */
function capturingLogger(lines: string[]): Logger {
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return createLogger({ level: 'debug', destination });
}

function consulSettings(port: number, extra: Partial<GroupSettings['consul']> = {}): GroupSettings['consul'] {
  return {
    ...defaultSettings().consul,
    enabled: true,
    address: '127.0.0.1:{port}',
    port,
    timeoutSeconds: 2,
    ...extra,
  };
}

function request(deadlineMs = 5000): ReleaseRequest {
  return {
    groupName: 'web',
    instance: {
      instanceId: 'i-0c0',
      availabilityZone: 'us-east-1a',
      privateIp: '10.20.30.40',
      privateDnsName: 'ip-10-20-30-40.ec2.internal',
    },
    mode: 'drain',
    reason: 'spot-interruption',
    deadline: new Date(Date.now() + deadlineMs),
    signal: new AbortController().signal,
  };
}

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spotmax-consul-'));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('services are deregistered at the instance agent, then the agent leaves; the token is sent, never logged', async (t) => {
  const agent = await startConsulServer();
  t.teardown(() => agent.stop());
  agent.addService('web-1', 'web');
  agent.addService('web-metrics', 'metrics');
  agent.requiredToken = 's3cr3t-acl-token';
  const lines: string[] = [];
  const releaser = new ConsulReleaser({
    settings: consulSettings(agent.port, { tokenEnv: 'CONSUL_HTTP_TOKEN' }),
    clock: systemClock,
    logger: capturingLogger(lines),
    env: { CONSUL_HTTP_TOKEN: 's3cr3t-acl-token' },
  });
  const [out] = await runReleasers([releaser], request(), { clock: systemClock });
  t.is(out?.status, 'done', out?.detail);
  t.deepEqual(out?.counts, { servicesDeregistered: 2, servicesFailed: 0, agentLeft: 1 });
  t.is(agent.services.size, 0);
  t.true(agent.left);
  const order = agent.requests.map((r) => `${r.method} ${r.path}`);
  t.is(order[0], 'GET /v1/agent/services');
  t.is(order.at(-1), 'PUT /v1/agent/leave');
  t.true(agent.requests.every((r) => r.headers['x-consul-token'] === 's3cr3t-acl-token'));
  t.false(JSON.stringify(out).includes('s3cr3t'));
  t.false(lines.join('\n').includes('s3cr3t'));
});

test('the token from a file; a wrong token is a failed outcome naming the ACL, without the token', async (t) => {
  const agent = await startConsulServer();
  t.teardown(() => agent.stop());
  agent.addService('api');
  agent.requiredToken = 'right-token';
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'wrong-token\n');
  const lines: string[] = [];
  const releaser = new ConsulReleaser({
    settings: consulSettings(agent.port, { tokenFile }),
    clock: systemClock,
    logger: capturingLogger(lines),
    env: {},
  });
  const out = await releaser.release(request());
  t.is(out.status, 'failed');
  t.regex(out.detail ?? '', /HTTP 403 \(ACL token missing or not allowed\)/);
  t.false(JSON.stringify(out).includes('wrong-token'));
  t.is(agent.requests[0]?.headers['x-consul-token'], 'wrong-token');
  await writeFile(tokenFile, 'right-token\n');
  const ok = await releaser.release(request());
  t.is(ok.status, 'done', ok.detail);
  const missingEnv = new ConsulReleaser({
    settings: consulSettings(agent.port, { tokenEnv: 'NOPE' }),
    clock: systemClock,
    logger: capturingLogger(lines),
    env: {},
  });
  t.regex(
    (await missingEnv.release(request())).detail ?? '',
    /environment variable NOPE \(consul.tokenEnv\) is not set/,
  );
});

test('agent unreachable → the node is deregistered from the central catalog, found by its address', async (t) => {
  const agent = await startConsulServer();
  const central = await startConsulServer();
  t.teardown(() => Promise.all([agent.stop(), central.stop()]).then(() => {}));
  await agent.refuse();
  central.catalogNodes.push(
    { Node: 'web-node-7', Address: '10.20.30.40' },
    { Node: 'other', Address: '10.0.0.9' },
  );
  const lines: string[] = [];
  const releaser = new ConsulReleaser({
    settings: consulSettings(agent.port, { centralAddress: central.hostPort, tokenEnv: 'TOK' }),
    clock: systemClock,
    logger: capturingLogger(lines),
    env: { TOK: 'tok-123456' },
  });
  const out = await releaser.release(request());
  t.is(out.status, 'done', out.detail);
  t.deepEqual(out.counts, { catalogDeregistered: 1 });
  t.regex(out.detail ?? '', /ECONNREFUSED/);
  t.deepEqual(central.catalogDeregistered, [{ Node: 'web-node-7' }]);
  t.deepEqual(
    central.catalogNodes.map((n) => n.Node),
    ['other'],
  );
  t.true(central.requests.every((r) => r.headers['x-consul-token'] === 'tok-123456'));
  t.true(lines.some((l) => l.includes('central catalog')));
  t.false(lines.join('\n').includes('tok-123456'));
});

test('an agent that hangs: the fallback still runs inside the deadline; without a central address the step fails in time', async (t) => {
  const agent = await startConsulServer();
  const central = await startConsulServer();
  t.teardown(() => Promise.all([agent.stop(), central.stop()]).then(() => {}));
  agent.hang = true;
  const releaser = new ConsulReleaser({
    settings: consulSettings(agent.port, { centralAddress: central.hostPort, timeoutSeconds: 30 }),
    clock: systemClock,
    logger: capturingLogger([]),
    env: {},
  });
  const started = Date.now();
  const [out] = await runReleasers([releaser], request(2000), { clock: systemClock });
  t.true(Date.now() - started < 2000, 'ends inside the deadline, fallback included');
  t.is(out?.status, 'done', out?.detail);
  t.regex(out?.detail ?? '', /no answer within/);
  t.deepEqual(central.catalogDeregistered, [{ Node: 'ip-10-20-30-40.ec2.internal' }]);

  const alone = new ConsulReleaser({
    settings: consulSettings(agent.port, { timeoutSeconds: 1 }),
    clock: systemClock,
    logger: capturingLogger([]),
    env: {},
  });
  const started2 = Date.now();
  const [out2] = await runReleasers([alone], request(3000), { clock: systemClock });
  t.true(Date.now() - started2 < 2000, 'the per-call timeout (timeoutSeconds) applies');
  t.is(out2?.status, 'failed');
  t.regex(out2?.detail ?? '', /no consul.centralAddress/);
});

test('a service that fails to deregister makes the step partial and is named', async (t) => {
  const agent = await startConsulServer();
  t.teardown(() => agent.stop());
  agent.addService('a');
  agent.addService('b');
  agent.failDeregister.add('b');
  const releaser = new ConsulReleaser({
    settings: consulSettings(agent.port),
    clock: systemClock,
    logger: capturingLogger([]),
    env: {},
  });
  const out = await releaser.release(request());
  t.is(out.status, 'partial');
  t.is(out.counts?.servicesDeregistered, 1);
  t.is(out.counts?.consulFailures, 1);
  t.regex(out.detail ?? '', /deregistering service b .*HTTP 500/);
  t.true(agent.left);
});
