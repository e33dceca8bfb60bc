import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import test from 'ava';

// No Docker engine runs here, so the Dockerfile is checked as text: its stages, what each copies and
// from where, the user, entrypoint, command and health check, and that everything it copies exists in
// a clean clone (tracked by git) and is not excluded by .dockerignore.

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  from: string;
  body: Instruction[];
}

function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] as string;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.trimEnd().endsWith('\\') && i + 1 < lines.length)
      line = `${line.trimEnd().slice(0, -1)} ${lines[++i]}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m)
      instructions.push({
        op: (m[1] as string).toUpperCase(),
        args: (m[2] as string).trim(),
        line: start + 1,
      });
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const [k, v] = ins.args.split('=');
      args[k as string] = v ?? '';
    } else if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      const from = (m?.[1] ?? '').replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
      stages.push({ name: m?.[2] ?? String(stages.length), from, body: [] });
    } else {
      stages.at(-1)?.body.push(ins);
    }
  }
  return { args, stages };
}

const text = readFileSync('Dockerfile', 'utf8');
const { stages } = parseDockerfile(text);
const stage = (name: string) => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile has no stage ${name}`);
  return s;
};
const runtime = stages.at(-1) as Stage;
const ops = (s: Stage, op: string) => s.body.filter((i) => i.op === op);
const jsonArgs = (ins: Instruction | undefined) => JSON.parse(ins?.args ?? 'null') as string[];

test('three stages on the same Node 22 slim base, pinned to an exact version and by digest', (t) => {
  t.deepEqual(
    stages.map((s) => s.name),
    ['build', 'deps', 'runtime'],
  );
  for (const s of stages)
    t.regex(
      s.from,
      /^node:22\.\d+\.\d+-(bookworm|trixie)-slim@sha256:[0-9a-f]{64}$/,
      `${s.name} base ${s.from}: tag and digest, so every build starts from the same bytes`,
    );
  t.is(new Set(stages.map((s) => s.from)).size, 1);
});

test("the image's Node satisfies package.json engines, and the AWS SDK's coming Node 22 floor", (t) => {
  const major = Number(/^node:(\d+)\./.exec(runtime.from)?.[1]);
  const engines = JSON.parse(readFileSync('package.json', 'utf8')).engines.node as string;
  const floor = /^>=(\d+)\.(\d+)/.exec(engines);
  t.truthy(floor, `engines.node ${engines} is a >= range`);
  t.true(major >= Number(floor?.[1]), `image Node ${major} below engines ${engines}`);
  // The SDK warns on Node < 22 (NodeVersionSupportWarning) and its releases after January 2027 need 22.
  t.true(major >= 22);
});

test('OCI labels: title, description, licenses, version, revision, created, source and the base image', (t) => {
  const labels = ops(runtime, 'LABEL')
    .map((i) => i.args)
    .join(' ');
  const found = Object.fromEntries(
    [...labels.matchAll(/(org\.opencontainers\.image\.[a-z.]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  );
  for (const key of [
    'title',
    'description',
    'licenses',
    'version',
    'revision',
    'created',
    'source',
    'base.name',
  ])
    t.true(`org.opencontainers.image.${key}` in found, `missing org.opencontainers.image.${key}`);
  t.is(found['org.opencontainers.image.licenses'], JSON.parse(readFileSync('package.json', 'utf8')).license);
  // Filled by build arguments in a local build (the release workflow's labels replace them), declared in
  // the runtime stage.
  const args = ops(runtime, 'ARG').map((i) => i.args.split('=')[0]);
  for (const arg of ['VERSION', 'REVISION', 'CREATED', 'SOURCE_URL', 'NODE_IMAGE'])
    t.true(args.includes(arg), arg);
  t.is(found['org.opencontainers.image.base.name'], `\${NODE_IMAGE}`);
});

test('the scenarios the demo and simulate play are in the image, where the demo looks for them', (t) => {
  t.true(ops(runtime, 'COPY').some((i) => i.args === 'bench/scenarios ./bench/scenarios'));
  t.is(ops(runtime, 'WORKDIR').at(-1)?.args, '/app');
  // src/simulate/demo.ts resolves ../../bench/scenarios/demo.yaml from dist/simulate/.
  t.regex(readFileSync('src/simulate/demo.ts', 'utf8'), /'\.\.', '\.\.', 'bench', 'scenarios', 'demo\.yaml'/);
  t.true(existsSync('bench/scenarios/demo.yaml'));
  t.true(existsSync('bench/scenarios/policies'));
});

test('build installs everything and compiles; deps installs production dependencies only', (t) => {
  const buildRuns = ops(stage('build'), 'RUN').map((i) => i.args);
  t.true(buildRuns.some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev')));
  t.true(buildRuns.some((r) => r.includes('npm run build')));
  const depsRuns = ops(stage('deps'), 'RUN').map((i) => i.args);
  t.true(depsRuns.some((r) => /npm ci .*--omit=dev/.test(r)));
  // The compiler writes dist/, which bin/spotmax.js imports.
  t.is(JSON.parse(readFileSync('tsconfig.json', 'utf8')).compilerOptions.outDir, 'dist');
  t.regex(readFileSync('bin/spotmax.js', 'utf8'), /import\('\.\.\/dist\/main\.js'\)/);
});

test('the runtime takes node_modules from deps (not build) and dist from build', (t) => {
  const copies = ops(runtime, 'COPY').map((i) => i.args);
  t.true(copies.includes('--from=deps /app/node_modules ./node_modules'));
  t.true(copies.includes('--from=build /app/dist ./dist'));
  t.false(copies.some((c) => c.startsWith('--from=build /app/node_modules')));
  t.is(ops(runtime, 'ADD').length, 0);
});

test('the code only imports production dependencies, so npm ci --omit=dev is enough to run it', (t) => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const prod = new Set(Object.keys(pkg.dependencies ?? {}));
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) =>
      statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : [],
    );
  const files = walk('src');
  t.true(files.length > 10);
  for (const file of files) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(
      /(?:^|\n)\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+'([^'.][^']*)'|import\('([^'.][^']*)'\)/g,
    )) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      const name = spec.startsWith('@')
        ? spec.split('/').slice(0, 2).join('/')
        : (spec.split('/')[0] as string);
      t.true(prod.has(name), `${file} imports ${name}, which is not a production dependency`);
    }
  }
});

test('runs as a non-root user with tini as PID 1 in front of node /app/bin/spotmax.js', (t) => {
  const user = ops(runtime, 'USER').at(-1)?.args ?? '';
  t.regex(user, /^\d+(:\d+)?$/, 'numeric, so runAsNonRoot checks can verify it');
  t.not(user.split(':')[0], '0');
  t.true(ops(runtime, 'RUN').some((r) => /apt-get install .*\btini\b/.test(r.args)));
  t.deepEqual(jsonArgs(ops(runtime, 'ENTRYPOINT').at(-1)), [
    '/usr/bin/tini',
    '--',
    'node',
    '/app/bin/spotmax.js',
  ]);
  t.deepEqual(jsonArgs(ops(runtime, 'CMD').at(-1)), ['run', '--cloud', 'aws']);
  // Nothing runs as root after the switch.
  const userIdx = runtime.body.findIndex((i) => i.op === 'USER');
  t.false(runtime.body.slice(userIdx).some((i) => i.op === 'RUN'));
});

test('read-only-root friendly: /tmp is the only volume, and TMPDIR points there', (t) => {
  t.deepEqual(
    ops(runtime, 'VOLUME').map((i) => jsonArgs(i)),
    [['/tmp']],
  );
  t.true(ops(runtime, 'ENV').some((i) => /\bTMPDIR=\/tmp\b/.test(i.args)));
});

test('HEALTHCHECK asks /healthz with node fetch (no curl in the slim image)', (t) => {
  const hc = ops(runtime, 'HEALTHCHECK').at(-1)?.args ?? '';
  const cmd = JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[];
  t.deepEqual(cmd.slice(0, 2), ['node', '-e']);
  t.regex(cmd[2] as string, /fetch\('http:\/\/127\.0\.0\.1:8080\/healthz'\)/);
  t.false(hc.includes('curl'));
  t.true(ops(runtime, 'EXPOSE').some((i) => i.args === '8080'));
});

test('policies are baked in from policies/ and SPOTMAX_POLICIES points at them', (t) => {
  t.true(ops(runtime, 'COPY').some((i) => i.args === 'policies /policies'));
  t.true(ops(runtime, 'ENV').some((i) => /\bSPOTMAX_POLICIES=\/policies\b/.test(i.args)));
});

/** .dockerignore semantics for the patterns used here: root-relative globs, `!` re-includes, last match wins. */
function ignored(path: string, patterns: string[]): boolean {
  let out = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const pat = (neg ? raw.slice(1) : raw).replace(/^\/|\/$/g, '');
    const re = new RegExp(
      `^${pat
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '%%')
        .replace(/\*/g, '[^/]*')
        .replace(/%%/g, '.*')}(/.*)?$`,
    );
    if (re.test(path)) out = !neg;
  }
  return out;
}

test('every COPY source exists in a clean clone and is not excluded by .dockerignore', (t) => {
  const patterns = readFileSync('.dockerignore', 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const tracked = execFileSync('git', ['ls-files'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const sources = stages.flatMap((s) => ops(s, 'COPY')).filter((i) => !i.args.startsWith('--from='));
  t.true(sources.length >= 5);
  for (const ins of sources) {
    const parts = ins.args.split(/\s+/);
    for (const src of parts.slice(0, -1)) {
      t.true(existsSync(src), `Dockerfile:${ins.line}: ${src} does not exist`);
      const files = tracked.filter((f) => f === src || f.startsWith(`${src}/`));
      t.true(
        files.length > 0,
        `Dockerfile:${ins.line}: ${src} is not tracked by git, so a clone has no ${src}`,
      );
      for (const f of files)
        t.false(ignored(f, patterns), `Dockerfile:${ins.line}: ${f} is excluded by .dockerignore`);
    }
  }
  t.true(ignored('node_modules/x/index.js', patterns), 'node_modules stays out of the build context');
  t.true(ignored('.git/HEAD', patterns));
});

test('the HEALTHCHECK probe exits 0 on a healthy /healthz, 1 on 503 and 1 when nothing listens', async (t) => {
  const { startHealthServer } = await import('../../src/observability/health-server.js');
  const { PrometheusRegistry } = await import('../../src/observability/prometheus.js');
  const { silentLogger } = await import('../../src/ports/logger.js');
  const { execFile } = await import('node:child_process');
  const hc = ops(runtime, 'HEALTHCHECK').at(-1)?.args ?? '';
  const probe = (JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[])[2] as string;
  let healthy = true;
  const server = await startHealthServer({
    port: 0,
    host: '127.0.0.1',
    checks: { live: () => ({ ok: healthy, checks: {} }), ready: async () => ({ ok: true, checks: {} }) },
    metrics: new PrometheusRegistry({ processMetrics: false }),
    logger: silentLogger,
  });
  const run = (port: number) =>
    new Promise<number>((resolve) => {
      execFile(process.execPath, ['-e', probe.replace(':8080/', `:${port}/`)], { timeout: 10_000 }, (err) =>
        resolve(err ? ((err as { code?: number }).code ?? -1) : 0),
      );
    });
  try {
    t.is(await run(server.port), 0);
    healthy = false;
    t.is(await run(server.port), 1);
  } finally {
    await server.close();
  }
  t.is(await run(server.port), 1, 'connection refused');
});
