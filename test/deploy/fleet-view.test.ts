import { readdirSync, readFileSync, statSync } from 'node:fs';
import test from 'ava';
import { METRIC_NAMESPACE, MetricNames } from '../../src/observability/metric-names.js';
import { readTemplate } from './cfn-yaml.js';

// Seeing a fleet of 20 accounts x 4 regions in one place (issue 14.3): a Logs Insights query set and a
// cross-account dashboard for the monitoring account, fed by CloudWatch cross-account observability
// (observability-sink.yaml, observability-link.yaml). They cannot run here; what can drift is checked:
// the log fields and messages the queries rely on are the ones spotmax writes, the metrics the
// dashboard searches are the ones it publishes, and the link picks up the stack's log group.

const queries = JSON.parse(readFileSync('deploy/observability/logs-insights-queries.json', 'utf8')) as {
  name: string;
  description: string;
  queryString: string;
}[];
const dashboard = JSON.parse(readFileSync('deploy/observability/fleet-dashboard.json', 'utf8')) as {
  widgets: {
    type: string;
    x: number;
    y: number;
    width: number;
    height: number;
    properties: Record<string, unknown>;
  }[];
};

/** Every .ts under src as one text, to find the log keys and messages spotmax writes. */
function sourceText(): string {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = `${dir}/${f}`;
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [readFileSync(p, 'utf8')] : [];
    });
  return walk('src').join('\n');
}

test('the query set: named, described, each reading only spotmax\u2019s own lines', (t) => {
  t.true(queries.length >= 5);
  t.is(new Set(queries.map((q) => q.name)).size, queries.length);
  for (const q of queries) {
    t.regex(q.name, /^spotmax\/[a-z-]+$/);
    t.true(q.description.length > 30, q.name);
    t.regex(q.queryString, /filter service = "spotmax"/, q.name);
  }
});

test('the queries use only the log fields spotmax writes, and match the messages it logs', (t) => {
  const src = sourceText();
  // Fields from pino (level, msg), the logger's base (service), Logs Insights (@...), and the call sites.
  const builtIn = new Set(['level', 'msg', 'service', '@timestamp', '@log']);
  t.regex(readFileSync('src/observability/logger.ts', 'utf8'), /base: \{ service: 'spotmax' \}/);
  for (const q of queries) {
    const fields = [
      ...[...q.queryString.matchAll(/fields ([^|\n]+)/g)].flatMap((m) => (m[1] as string).split(',')),
      ...[...q.queryString.matchAll(/(?:filter|and) ([\w.@]+) (?:=|>=|like)/g)].map((m) => m[1] as string),
      ...[...q.queryString.matchAll(/ by ([^|\n]+)/g)].flatMap((m) => (m[1] as string).split(',')),
    ].map((f) => f.trim());
    for (const f of fields) {
      if (builtIn.has(f) || f === 'asg' || f === 'msg') continue;
      const key = f.split('.')[0] as string;
      t.true(new RegExp(`\\b${key}:`).test(src), `${q.name}: spotmax never logs a field "${key}"`);
    }
  }
  // The detach count is parsed out of the coalescer's message: it must still read that way.
  const detaches = queries.find((q) => q.name === 'spotmax/detaches-by-account-and-group')?.queryString ?? '';
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a JS template, searched for
  t.true(src.includes('`detached ${ids.length} instance(s) from ${groupName}`'));
  // Dry-run lines all start with "would " (executor, detach coalescer, rebalance handler).
  t.regex(src, /`would \$\{action\.kind\} \$\{action\.target\}`/);
  const parse = /parse msg \/(.+)\/\n/.exec(detaches)?.[1] as string;
  const m = new RegExp(parse).exec('detached 3 instance(s) from web-asg');
  t.is(m?.groups?.n, '3');
  t.is(m?.groups?.asg, 'web-asg');
});

test('the fleet dashboard: one row per region, searching only metrics spotmax publishes', (t) => {
  const regions = new Set(dashboard.widgets.map((w) => w.properties.region).filter(Boolean));
  t.is(regions.size, 4);
  const published = new Set(Object.values(MetricNames));
  const text = JSON.stringify(dashboard);
  const searched = [...text.matchAll(/\{SpotMax[^}]*\} MetricName=\\"([A-Za-z]+)\\"/g)].map(
    (m) => m[1] as string,
  );
  t.true(searched.length >= 16);
  for (const name of searched) t.true(published.has(name as never), `spotmax publishes no metric ${name}`);
  t.is(METRIC_NAMESPACE, 'SpotMax');
  for (const w of dashboard.widgets)
    t.true(w.x >= 0 && w.x + w.width <= 24, 'widgets fit the 24-column grid');
});

test('the link sends the stack\u2019s log group and metrics to the sink, and the sink admits the organization only', (t) => {
  const link = readTemplate('deploy/cloudformation/observability-link.yaml');
  const cfg = (link.Resources.Link?.Properties ?? {}) as {
    ResourceTypes: string[];
    LinkConfiguration: { LogGroupConfiguration: { Filter: string }; MetricConfiguration: { Filter: string } };
  };
  t.deepEqual(cfg.ResourceTypes, ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup']);
  t.true(cfg.LinkConfiguration.MetricConfiguration.Filter.includes(`'${METRIC_NAMESPACE}'`));
  const stack = readTemplate('deploy/cloudformation/spotmax.yaml');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
  t.deepEqual(stack.Resources.LogGroup?.Properties?.LogGroupName, { 'Fn::Sub': '/ecs/${AWS::StackName}' });
  // A StackSet's stacks are named StackSet-<set name>-<id>; a stand-alone stack keeps its name (spotmax).
  t.regex(cfg.LinkConfiguration.LogGroupConfiguration.Filter, /'\/ecs\/StackSet-spotmax%'/);
  t.regex(cfg.LinkConfiguration.LogGroupConfiguration.Filter, /'\/ecs\/spotmax%'/);
  const sink = readTemplate('deploy/cloudformation/observability-sink.yaml');
  const policy = JSON.stringify(sink.Resources.Sink?.Properties?.Policy);
  t.true(policy.includes('"aws:PrincipalOrgID":{"Ref":"OrganizationId"}'));
});

test('deploy/README.md and stackset.md point at files that exist', (t) => {
  const docs =
    readFileSync('deploy/README.md', 'utf8') + readFileSync('deploy/cloudformation/stackset.md', 'utf8');
  const paths = [
    ...docs.matchAll(
      /`((?:cloudformation|observability|deploy\/observability|deploy\/cloudformation)\/[\w./-]+\.(?:ya?ml|json|md))`/g,
    ),
  ].map((m) => (m[1] as string).replace(/^deploy\//, ''));
  t.true(paths.length >= 6);
  for (const p of new Set(paths)) t.notThrows(() => statSync(`deploy/${p}`), `deploy/${p}`);
});
