// npm run test:image — builds the Dockerfile with buildah and runs the image: `--help`, `plan` against
// moto, the demo's `plan --cloud sim`, a short `simulate` (its files in /tmp: /app is not the user's),
// and the image's own HEALTHCHECK against `run --cloud sim`.
//
// No Docker engine runs on the development machines, and the official node base cannot be pulled
// (only the npm registry and Debian's archive are reachable), so the base is a stand-in: a Debian
// bookworm minbase made with debootstrap, with this machine's Node and npm copied in, tagged and
// passed as NODE_IMAGE. Everything after FROM is the real Dockerfile. buildah runs with the vfs
// storage driver and chroot isolation (no kernel overlay or user namespaces needed). The stand-in also
// gets this machine's CA bundle (NODE_EXTRA_CA_CERTS, npm's cafile), so `npm ci` in the build stages
// trusts whatever TLS the machine's own npm trusts. Not part of
// `npm test`: it takes minutes and needs root, buildah and debootstrap.
//
// The rootfs and buildah's storage are kept in SPOTMAX_IMAGE_CACHE (default /var/tmp/spotmax-test-image)
// so a second run skips debootstrap and the stand-in base; remove that folder to start from scratch.
// `npm run test:image -- --reuse` runs the checks on the image the last run built, without building;
// `-- --ref COMMIT` builds that commit instead of HEAD.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { seedGroup, testClients } from '../test/helpers/aws-fixtures.js';
import { startMoto, TEST_CREDENTIALS, TEST_REGION } from '../test/helpers/moto.js';

const root = resolve(import.meta.dirname, '..');
const cache = process.env.SPOTMAX_IMAGE_CACHE ?? '/var/tmp/spotmax-test-image';
const rootfs = join(cache, 'rootfs-bookworm');
const storage = [
  '--root',
  join(cache, 'storage'),
  '--runroot',
  join(cache, 'run'),
  '--storage-driver',
  'vfs',
];
const nodeVersion = process.version;
const caBundle = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
const caHash = existsSync(caBundle)
  ? createHash('sha256').update(readFileSync(caBundle)).digest('hex').slice(0, 8)
  : 'noca';
const standin = `localhost/spotmax-standin-node:${nodeVersion}-${caHash}`;
const image = 'localhost/spotmax:test-image';
const started = Date.now();
const results: { name: string; ok: boolean; ms: number; detail: string }[] = [];

function need(tool: string, install: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`test:image needs ${tool}: ${install}`);
    process.exit(2);
  }
}

function sh(cmd: string, args: string[], opts: { input?: string; quiet?: boolean } = {}): string {
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    input: opts.input,
    maxBuffer: 64 * 1024 * 1024,
    stdio: opts.quiet ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'inherit'],
  });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').slice(-2000)}`,
    );
  return r.stdout;
}

const buildah = (args: string[], opts?: { quiet?: boolean }) => sh('buildah', [...storage, ...args], opts);

/** The Debian mirror this machine's apt uses (sources.list or deb822 .sources), for debootstrap. */
function debianMirror(): string {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const m =
      text.match(/^URIs:\s*(\S+\/debian)\s*$/m) ?? text.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s/m);
    if (m) return m[1] as string;
  }
  throw new Error('no Debian mirror found in /etc/apt (sources.list or sources.list.d/debian.sources)');
}

async function step(name: string, fn: () => Promise<string> | string): Promise<void> {
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.push({ name, ok: true, ms: Date.now() - t0, detail });
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${detail ? `: ${detail}` : ''}`);
  } catch (err) {
    results.push({ name, ok: false, ms: Date.now() - t0, detail: (err as Error).message });
    console.log(`FAIL ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${(err as Error).message}`);
  }
}

interface ImageConfig {
  Entrypoint: string[];
  User: string;
  Labels: Record<string, string>;
  Healthcheck?: { Test: string[] };
}

/** The built image's Docker config (buildah inspect; its --format has no json function in older releases). */
function imageConfig(): ImageConfig {
  const out = JSON.parse(buildah(['inspect', '--type', 'image', image], { quiet: true })) as {
    Docker: { config: ImageConfig };
  };
  return out.Docker.config;
}

/** Words quoted for sh -c. */
const q = (a: string[]) => a.map((x) => `'${x.replace(/'/g, `'\\''`)}'`).join(' ');

function haveImage(name: string): boolean {
  return buildah(['images', '--format', '{{.Name}}:{{.Tag}}'], { quiet: true }).split('\n').includes(name);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('test:image runs buildah with chroot isolation and debootstrap, which need root');
    process.exit(2);
  }
  need('buildah', 'apt-get install -y buildah');
  need('unshare', 'apt-get install -y util-linux');
  need('ip', 'apt-get install -y iproute2');
  mkdirSync(cache, { recursive: true });

  await step('stand-in base: debootstrap bookworm minbase', () => {
    if (existsSync(join(rootfs, 'etc/debian_version'))) return `cached in ${rootfs}`;
    need('debootstrap', 'apt-get install -y debootstrap');
    sh('debootstrap', ['--variant=minbase', 'bookworm', rootfs, debianMirror()], { quiet: true });
    return rootfs;
  });

  await step(`stand-in base: this machine's Node ${nodeVersion} and npm copied in`, () => {
    if (haveImage(standin)) return `cached: ${standin}`;
    const ctr = buildah(['from', 'scratch'], { quiet: true }).trim();
    try {
      buildah(['copy', '--quiet', ctr, `${rootfs}/`, '/'], { quiet: true });
      const nodeBin = process.execPath;
      const npmDir = resolve(nodeBin, '../../lib/node_modules/npm');
      if (!existsSync(npmDir)) throw new Error(`npm not found at ${npmDir}`);
      buildah(['copy', '--quiet', ctr, nodeBin, '/usr/local/bin/node'], { quiet: true });
      buildah(['copy', '--quiet', ctr, npmDir, '/usr/local/lib/node_modules/npm'], { quiet: true });
      buildah(
        [
          'run',
          '--isolation',
          'chroot',
          ctr,
          '--',
          'sh',
          '-c',
          'ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version',
        ],
        { quiet: true },
      );
      const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
      if (caHash !== 'noca') {
        buildah(['copy', '--quiet', ctr, caBundle, '/etc/ssl/certs/ca-certificates.crt'], { quiet: true });
        env.push(
          'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
          'NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt',
        );
      }
      buildah(['config', ...env.flatMap((e) => ['--env', e]), ctr], { quiet: true });
      buildah(['commit', '--quiet', ctr, standin], { quiet: true });
    } finally {
      buildah(['rm', ctr], { quiet: true });
    }
    return standin;
  });

  // --ref COMMIT builds another commit than HEAD (an older one, to compare or to bisect).
  const refAt = process.argv.indexOf('--ref');
  const ref = refAt > 0 ? (process.argv[refAt + 1] ?? 'HEAD') : 'HEAD';
  const revision = sh('git', ['rev-parse', '--verify', `${ref}^{commit}`], { quiet: true }).trim();
  // The build context is the committed tree (git archive), as a clean clone has it: uncommitted
  // files in the checkout neither help nor break the build.
  const context = join(cache, 'context');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  sh('sh', ['-c', `git archive ${revision} | tar -x -C '${context}'`], { quiet: true });
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
  const reuse = process.argv.includes('--reuse') && haveImage(image);
  await step('buildah build of the Dockerfile (NODE_IMAGE = the stand-in)', () => {
    if (reuse) return `reused ${image} (--reuse): the Dockerfile was not built this run`;
    buildah(
      [
        'build',
        '--isolation',
        'chroot',
        // Docker's image format: OCI's has no HEALTHCHECK, and the health check is part of what is tested.
        '--format',
        'docker',
        '--pull=never',
        '--layers=false',
        '--build-arg',
        `NODE_IMAGE=${standin}`,
        '--build-arg',
        `VERSION=${version}`,
        '--build-arg',
        `REVISION=${revision}`,
        '--build-arg',
        `CREATED=${new Date().toISOString()}`,
        '-f',
        join(context, 'Dockerfile'),
        '-t',
        image,
        context,
      ],
      { quiet: true },
    );
    const labels = imageConfig().Labels;
    if (labels['org.opencontainers.image.revision'] !== revision)
      throw new Error(
        `label org.opencontainers.image.revision is ${labels['org.opencontainers.image.revision']}`,
      );
    return `${image}, revision label ${revision.slice(0, 12)}`;
  });
  if (!results.every((r) => r.ok)) return finish();

  const config = imageConfig();
  const entrypoint = config.Entrypoint;
  const containers: string[] = [];
  // With vfs every working container is a full copy of the image: one serves every check, a second
  // only probes the running service.
  const container = () => {
    const ctr = buildah(['from', '--pull-never', image], { quiet: true }).trim();
    containers.push(ctr);
    return ctr;
  };
  let sharedCtr: string | undefined;
  const shared = () => {
    sharedCtr ??= container();
    return sharedCtr;
  };
  // buildah run does not apply ENTRYPOINT; the image's own is put in front, as `docker run` would.
  const inImage = (ctr: string, args: string[], env: Record<string, string> = {}) =>
    buildah(
      [
        'run',
        '--isolation',
        'chroot',
        '--user',
        config.User,
        ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
        ctr,
        '--',
        ...entrypoint,
        ...args,
      ],
      { quiet: true },
    );

  try {
    await step('--help inside the image (tini, node, the user from USER)', () => {
      const out = inImage(shared(), ['--help']);
      for (const cmd of ['run', 'plan', 'apply', 'simulate', 'validate'])
        if (!new RegExp(`\\b${cmd}\\b`).test(out)) throw new Error(`--help does not list ${cmd}`);
      return `lists run, plan, apply, simulate, validate; user ${config.User}`;
    });

    await step('plan --format json inside the image against moto', async () => {
      const moto = await startMoto();
      try {
        const clients = testClients(moto.endpoint);
        await seedGroup(clients, {
          name: 'image-test-web',
          tags: { 'spotmax:policy': 'web-fleet' },
          desired: 0,
        });
        const out = inImage(shared(), ['plan', '--format', 'json', '--region', TEST_REGION], {
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
          AWS_REGION: TEST_REGION,
        });
        const report = JSON.parse(out) as {
          groups: { name: string; managed: boolean; policy: string | null }[];
        };
        const group = report.groups.find((g) => g.name === 'image-test-web');
        if (!group) throw new Error(`plan did not report image-test-web: ${out.slice(0, 500)}`);
        if (group.policy !== 'web-fleet') throw new Error(`policy ${group.policy}, expected web-fleet`);
        return `group image-test-web managed=${group.managed} with the baked-in policy web-fleet`;
      } finally {
        await moto.stop();
      }
    });

    await step('the demo scenario is in the image: plan --cloud sim --at 10m', () => {
      const out = inImage(shared(), ['plan', '--cloud', 'sim', '--at', '10m', '--format', 'json']);
      const report = JSON.parse(out) as { groups: unknown[] };
      return `${report.groups.length} group(s) planned from bench/scenarios/demo.yaml`;
    });

    await step('simulate inside the image: a 10-minute calm scenario, no --out, as uid 10001 in /app', () => {
      // The image's working directory /app is root's: simulate without --out must fall back to a folder
      // under /tmp and say so, and its report.json must be there. One `buildah run` for the command and
      // the check of its files, so they see the same /tmp.
      const script = [
        'set -e',
        `${q([...entrypoint, 'simulate', '--scenario', 'bench/scenarios/calm.yaml', '--duration', '10m', '--seed', '7'])} >/tmp/simulate.out`,
        'cat /tmp/simulate.out',
        "dir=$(sed -n 's#^wrote \\(.*\\)/report\\.json.*#\\1#p' /tmp/simulate.out)",
        `node -e ${q(['const r = require(process.argv[1]); console.log("report.json seed " + r.seed + ": " + r.strategies.map((s) => s.name).join(","))'])} "$dir/report.json"`,
        'test -s "$dir/capacity.svg"',
      ].join('\n');
      const r = spawnSync(
        'buildah',
        [
          ...storage,
          'run',
          '--isolation',
          'chroot',
          '--user',
          config.User,
          shared(),
          '--',
          'sh',
          '-c',
          script,
        ],
        { cwd: root, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      );
      if (r.status !== 0)
        throw new Error(
          `exit ${r.status ?? r.signal}: ${(r.stdout ?? '').slice(-800)}${(r.stderr ?? '').slice(-1500)}`,
        );
      const fellBack = r.stderr.match(
        /cannot write simulation-out in the working directory (\S+) \((\w+)\); writing to (\S+) instead/,
      );
      if (!fellBack) throw new Error(`no word of where the files went on stderr: ${r.stderr.slice(-800)}`);
      const report = r.stdout.match(/^report\.json seed 7: (.+)$/m);
      if (!report) throw new Error(`report.json not read back: ${r.stdout.slice(-800)}`);
      return `${fellBack[1]} not writable (${fellBack[2]}): wrote ${fellBack[3]}/report.json (${report[1]}) and capacity.svg`;
    });

    await step("the image's HEALTHCHECK against run --cloud sim (own network namespace)", async () => {
      const test = config.Healthcheck?.Test ?? [];
      if (test[0] !== 'CMD') throw new Error(`unexpected HEALTHCHECK ${JSON.stringify(test)}`);
      const probe = test.slice(1);
      const service = shared();
      const prober = container();
      // A fresh network namespace with only loopback: port 8080 is the image's, not this machine's.
      const b = `buildah ${q(storage)} run --isolation chroot --user ${config.User}`;
      const script = [
        'ip link set lo up',
        `${b} ${service} -- ${q([...entrypoint, 'run', '--cloud', 'sim', '--speed', '30'])} >/tmp/spotmax-image-run.log 2>&1 &`,
        'pid=$!',
        'i=0',
        // Probe as Docker would, every 2 s here instead of 30 s, within the image's 60 s start period.
        `until ${b} ${prober} -- ${q(probe)}; do i=$((i+1)); [ $i -ge 30 ] && { echo "unhealthy after $i probes"; kill $pid; exit 1; }; sleep 2; done`,
        'echo "healthy after $i failed probes"',
        // buildah run kills its process on SIGTERM instead of passing it on, so SIGTERM goes to the image's
        // tini (chroot isolation has no PID namespace: it is a process of this machine), as ECS sends it.
        'desc() { for c in $(ps -o pid= --ppid "$1"); do echo "$c"; desc "$c"; done; }',
        'tini=""; for p in $(desc $pid); do [ "$(cat /proc/$p/comm 2>/dev/null)" = tini ] && tini=$p; done',
        '[ -n "$tini" ] || { echo "no tini under buildah run"; kill $pid; exit 1; }',
        'kill -TERM $tini; wait $pid; echo "run exited $? after SIGTERM to tini"',
      ].join('\n');
      const child: ChildProcess = spawn('unshare', ['--net', '--', 'sh', '-c', script], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
      });
      child.stderr?.on('data', (d) => {
        out += d;
      });
      // The timeout is cancelled once the child exits: a pending 180 s timer kept the script alive that
      // long after its last line.
      const timeout = new AbortController();
      const code = await Promise.race([
        new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1))),
        sleep(180_000, undefined, { signal: timeout.signal }).then(
          () => {
            child.kill('SIGKILL');
            return -2;
          },
          () => -3,
        ),
      ]).finally(() => timeout.abort());
      if (code !== 0) throw new Error(`exit ${code}: ${out.slice(-1500)}`);
      const lines = out
        .trim()
        .split('\n')
        .filter((l) => /^(healthy after|unhealthy after|run exited)/.test(l));
      if (!lines.some((l) => /run exited 0/.test(l)))
        throw new Error(`service did not exit 0: ${out.slice(-800)}`);
      return lines.join('; ');
    });
  } finally {
    for (const ctr of containers) buildah(['rm', ctr], { quiet: true });
  }
  finish();
}

function finish(): void {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`test:image took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
