import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import test from 'ava';
import { createLogger } from '../../src/observability/logger.js';
import { runMain } from '../helpers/cli.js';
import { type Moto, startMoto, TEST_CREDENTIALS } from '../helpers/moto.js';

// Issue 15, item 5: papercuts a new user met, each shown failing before its fix.

const exec = promisify(execFile);
const RUN_CLI = new URL('./run-cli.ts', import.meta.url).pathname;
const LEGACY = new URL('../fixtures/legacy/service_config.json', import.meta.url).pathname;

let moto: Moto;
test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

/** The CLI in a child process with exactly this environment (plus PATH), from a temporary HOME. */
async function spawnCli(args: string[], env: Record<string, string>, shellTail = '') {
  const home = await mkdtemp(join(tmpdir(), 'spotmax-home-'));
  const cmd = `node --import tsx ${RUN_CLI} ${args.map((a) => `'${a}'`).join(' ')} 2>"${home}/stderr"${shellTail}; echo "exit=$?" >&2`;
  const r = await exec('sh', ['-c', cmd], {
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
    cwd: new URL('../..', import.meta.url).pathname,
  }).catch((e: { stdout: string; stderr: string; code: number }) => e);
  return { stdout: r.stdout, stderr: await readFile(join(home, 'stderr'), 'utf8'), shell: r.stderr };
}

test('events send takes the region from the queue URL when none is given (the README example)', async (t) => {
  const sqs = new SQSClient({
    region: 'eu-west-1',
    endpoint: moto.endpoint,
    credentials: TEST_CREDENTIALS,
  });
  await sqs.send(new CreateQueueCommand({ QueueName: 'spotmax-events' }));
  const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/spotmax-events';
  const r = await spawnCli(
    [
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
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    },
  );
  t.regex(r.shell, /exit=0/, r.stderr);
  const got = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: `${moto.endpoint}/123456789012/spotmax-events`,
      WaitTimeSeconds: 1,
    }),
  );
  const event = JSON.parse(got.Messages?.[0]?.Body ?? '{}') as { region?: string; 'detail-type'?: string };
  t.is(event['detail-type'], 'EC2 Spot Instance Interruption Warning');
  t.is(event.region, 'eu-west-1', "the event names the queue's region");
});

test('missing credentials: exit 1, a user error naming the credential chain, no stack', async (t) => {
  const r = await spawnCli(['plan', '--region', 'us-east-1'], {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  t.regex(r.shell, /exit=1/, r.stderr);
  t.regex(r.stderr, /^spotmax: no AWS credentials found/m);
  for (const source of [
    'AWS_ACCESS_KEY_ID',
    '~/.aws/credentials',
    'AWS_PROFILE',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'ECS',
    'EC2 instance role',
  ])
    t.true(r.stderr.includes(source), source);
  t.false(r.stderr.includes('internal error'));
  t.notRegex(r.stderr, /\n\s+at /);
});

test('piping into head never prints an EPIPE stack', async (t) => {
  // A legacy config of 4,000 groups: half a megabyte of YAML, far more than a pipe holds.
  const legacy = JSON.parse(await readFile(LEGACY, 'utf8')) as { groups: Record<string, unknown> };
  const one = Object.values(legacy.groups)[1];
  legacy.groups = Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`group-${i}`, one]));
  const file = join(await mkdtemp(join(tmpdir(), 'spotmax-epipe-')), 'service_config.json');
  await writeFile(file, JSON.stringify(legacy));
  const r = await spawnCli(['import-legacy', file], {}, ' | head -n 2');
  t.is(r.stdout.split('\n').filter(Boolean).length, 2);
  t.false(r.stderr.includes('EPIPE'), r.stderr);
  t.notRegex(r.stderr, /\n\s+at /);
});

test('validate with no path checks SPOTMAX_POLICIES, not ./policies', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-env-policies-'));
  await writeFile(
    join(dir, 'bad.yaml'),
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: x }\nspec:\n  standbye: {}\n',
  );
  const r = await runMain(['validate'], { SPOTMAX_POLICIES: dir });
  t.is(r.code, 1);
  t.regex(r.stdout, /bad\.yaml:5:3: unknown field "standbye"/);
  const ok = await runMain(['validate']);
  t.is(ok.code, 0, 'without it, ./policies (valid) is checked');
});

test('run --port abc is a user error before anything starts', async (t) => {
  const r = await runMain(['run', '--cloud', 'sim', '--port', 'abc']);
  t.is(r.code, 1);
  t.regex(r.stderr, /--port must be a port number, got "abc"/);
  t.is(r.stdout, '', 'the demo never began');
});

test('a JSON log line never repeats a key: a group bound twice, or bound and logged, appears once', (t) => {
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)));
  const root = createLogger({ destination });
  const pass = root.child({ group: 'web' });
  const action = pass.child({ group: 'web', action: 'tag-instance', target: 'i-1' });
  action.info({ reason: 'missing tag' }, 'would tag-instance i-1');
  action.warn({ group: 'web-2', err: 'x' }, 'moved');
  pass.info({}, 'plain');
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      t.is(lines.length, 3);
      for (const line of lines) {
        t.is(line.split('"group":').length - 1, 1, line);
        const keys = [...line.matchAll(/"([^"]+)":/g)].map((m) => m[1]);
        t.is(new Set(keys).size, keys.length, line);
      }
      t.like(JSON.parse(lines[0]!), {
        group: 'web',
        action: 'tag-instance',
        target: 'i-1',
        msg: 'would tag-instance i-1',
      });
      t.like(JSON.parse(lines[1]!), { group: 'web-2', action: 'tag-instance', level: 40 });
      resolve();
    }),
  );
});
