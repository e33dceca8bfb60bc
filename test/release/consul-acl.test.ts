import { readFileSync } from 'node:fs';
import test from 'ava';
import { defaultSettings, type GroupSettings } from '../../src/config/schema.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ReleaseRequest } from '../../src/ports/releaser.js';
import { ConsulReleaser } from '../../src/release/consul/releaser.js';
import { type AclRule, aclAllows, parseAclRules, startConsulServer } from '../helpers/consul-server.js';

// Consul from the task: the ACL policy documented in deploy/consul/spotmax-acl-policy.hcl is bound to the
// token the task passes (consul.tokenEnv, from the ECS secret), and the test Consul enforces it per
// endpoint as Consul does (service:read filters the agent's services, service:write deregisters,
// agent:write leaves, node:read filters the catalog, node:write deregisters a node). The documented
// policy lets every step through; without any one of its three rules a step is refused with 403 and
// the outcome says so. Only 127.0.0.1 is contacted.

const POLICY_FILE = 'deploy/consul/spotmax-acl-policy.hcl';
const documented = parseAclRules(readFileSync(POLICY_FILE, 'utf8'));
const TOKEN = 'acl-secret-of-the-task';

function settings(port: number, extra: Partial<GroupSettings['consul']> = {}): GroupSettings['consul'] {
  return {
    ...defaultSettings().consul,
    enabled: true,
    address: '127.0.0.1:{port}',
    port,
    timeoutSeconds: 2,
    tokenEnv: 'CONSUL_HTTP_TOKEN',
    ...extra,
  };
}

function request(): ReleaseRequest {
  return {
    groupName: 'web',
    instance: {
      instanceId: 'i-0acl',
      availabilityZone: 'us-east-1a',
      privateIp: '10.1.2.3',
      privateDnsName: 'ip-10-1-2-3.ec2.internal',
    },
    mode: 'drain',
    reason: 'spot-interruption',
    deadline: new Date(Date.now() + 5000),
    signal: new AbortController().signal,
  };
}

const without = (resource: AclRule['resource']) => documented.filter((r) => r.resource !== resource);

async function agentWith(t: { teardown(fn: () => Promise<void>): void }, rules: AclRule[]) {
  const agent = await startConsulServer();
  t.teardown(() => agent.stop());
  agent.requiredToken = TOKEN;
  agent.aclRules = rules;
  agent.nodeName = 'ip-10-1-2-3';
  agent.addService('web-1', 'web');
  agent.addService('web-metrics-1', 'web-metrics');
  return agent;
}

const releaserFor = (s: GroupSettings['consul']) =>
  new ConsulReleaser({
    settings: s,
    clock: systemClock,
    logger: silentLogger,
    env: { CONSUL_HTTP_TOKEN: TOKEN },
  });

test('the documented policy holds exactly service, agent and node write rules on every name', (t) => {
  t.deepEqual(
    documented.map((r) => `${r.resource}${r.prefix ? '_prefix' : ''} "${r.name}" ${r.policy}`).sort(),
    ['agent_prefix "" write', 'node_prefix "" write', 'service_prefix "" write'],
  );
  // The rule matcher behaves as Consul's: exact beats prefix, longest prefix wins, deny denies.
  const rules = parseAclRules(
    'service_prefix "" { policy = "read" }\nservice_prefix "web" { policy = "write" }\nservice "web-db" { policy = "deny" }',
  );
  t.true(aclAllows(rules, 'service', 'web-1', 'write'));
  t.false(aclAllows(rules, 'service', 'api', 'write'));
  t.true(aclAllows(rules, 'service', 'api', 'read'));
  t.false(aclAllows(rules, 'service', 'web-db', 'read'));
});

test('with the documented policy the task deregisters every service at the agent and the agent leaves', async (t) => {
  const agent = await agentWith(t, documented);
  const out = await releaserFor(settings(agent.port)).release(request());
  t.is(out.status, 'done', out.detail);
  t.is(out.counts?.servicesDeregistered, 2);
  t.is(out.counts?.agentLeft, 1);
  t.is(agent.services.size, 0);
  t.true(agent.left);
  t.true(agent.requests.every((r) => r.headers['x-consul-token'] === TOKEN));
});

test('without agent:write the leave is refused (403) and the outcome is partial, naming the ACL', async (t) => {
  const agent = await agentWith(t, without('agent'));
  const out = await releaserFor(settings(agent.port)).release(request());
  t.is(out.status, 'partial');
  t.is(out.counts?.servicesDeregistered, 2);
  t.false(agent.left);
  t.regex(out.detail ?? '', /HTTP 403 \(ACL token missing or not allowed\)/);
  t.false(JSON.stringify(out).includes(TOKEN));
});

test('without service rules the agent shows no services to deregister: nothing is removed from Consul', async (t) => {
  const agent = await agentWith(t, without('service'));
  const out = await releaserFor(settings(agent.port)).release(request());
  t.is(out.counts?.servicesDeregistered ?? 0, 0);
  t.is(agent.services.size, 2, 'the services stay registered');
});

test("catalog fallback: with node:write the unreachable agent's node is deregistered centrally; without it, refused", async (t) => {
  for (const [rules, expected] of [
    [documented, 'done'],
    [without('node'), 'failed'],
  ] as const) {
    const agent = await startConsulServer();
    const central = await startConsulServer();
    await agent.refuse();
    central.requiredToken = TOKEN;
    central.aclRules = [...rules];
    central.catalogNodes.push({ Node: 'ip-10-1-2-3', Address: '10.1.2.3' });
    try {
      const out = await releaserFor(settings(agent.port, { centralAddress: central.hostPort })).release(
        request(),
      );
      t.is(out.status, expected, out.detail);
      t.is(central.catalogNodes.length, expected === 'done' ? 0 : 1);
    } finally {
      await central.stop();
      await agent.stop();
    }
  }
});
