import test from 'ava';
import type { HealthResult } from '../../src/observability/checks.js';
import { PROMETHEUS_CONTENT_TYPE, startHealthServer } from '../../src/observability/health-server.js';
import { PrometheusRegistry } from '../../src/observability/prometheus.js';
import { silentLogger } from '../../src/ports/logger.js';

async function serve(live: () => HealthResult, ready: () => Promise<HealthResult>) {
  const metrics = new PrometheusRegistry({ processMetrics: false });
  metrics.record({ name: 'Interruptions', value: 1, unit: 'Count' });
  const server = await startHealthServer({
    port: 0,
    host: '127.0.0.1',
    checks: { live, ready },
    metrics,
    logger: silentLogger,
  });
  return { server, url: (p: string) => `http://127.0.0.1:${server.port}${p}` };
}

const ok: HealthResult = { ok: true, checks: { reconcile: { ok: true } } };

test('/healthz, /readyz and /metrics answer 200 with their content types when all is well', async (t) => {
  const { server, url } = await serve(
    () => ok,
    async () => ok,
  );
  try {
    const health = await fetch(url('/healthz'));
    t.is(health.status, 200);
    t.is(health.headers.get('content-type'), 'application/json; charset=utf-8');
    t.deepEqual(await health.json(), { status: 'ok', checks: { reconcile: { ok: true } } });

    const ready = await fetch(url('/readyz'));
    t.is(ready.status, 200);
    t.is(((await ready.json()) as { status: string }).status, 'ok');

    const metrics = await fetch(url('/metrics'));
    t.is(metrics.status, 200);
    t.is(metrics.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
    t.regex(await metrics.text(), /^spotmax_interruptions_total 1$/m);
  } finally {
    await server.close();
  }
});

test('failing checks answer 503 with the reasons', async (t) => {
  const { server, url } = await serve(
    () => ({ ok: false, checks: { reconcile: { ok: false, message: 'last turn 300 s ago' } } }),
    async () => ({
      ok: false,
      checks: { policies: { ok: false, message: 'policies/web.yaml:3:5: bad' }, queue: { ok: true } },
    }),
  );
  try {
    const health = await fetch(url('/healthz'));
    t.is(health.status, 503);
    t.deepEqual(await health.json(), {
      status: 'fail',
      checks: { reconcile: { ok: false, message: 'last turn 300 s ago' } },
    });
    const ready = await fetch(url('/readyz'));
    t.is(ready.status, 503);
    const body = (await ready.json()) as { checks: Record<string, { message?: string }> };
    t.is(body.checks.policies?.message, 'policies/web.yaml:3:5: bad');
  } finally {
    await server.close();
  }
});

test('a readiness check that throws is a 503, not a crash', async (t) => {
  const { server, url } = await serve(
    () => ok,
    async () => {
      throw new Error('boom');
    },
  );
  try {
    const res = await fetch(url('/readyz'));
    t.is(res.status, 503);
    t.regex(await res.text(), /boom/);
    t.is((await fetch(url('/healthz'))).status, 200);
  } finally {
    await server.close();
  }
});

test('unknown paths are 404, other methods 405, HEAD has no body', async (t) => {
  const { server, url } = await serve(
    () => ok,
    async () => ok,
  );
  try {
    t.is((await fetch(url('/nope'))).status, 404);
    const post = await fetch(url('/healthz'), { method: 'POST' });
    t.is(post.status, 405);
    t.is(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(url('/metrics'), { method: 'HEAD' });
    t.is(head.status, 200);
    t.is(await head.text(), '');
  } finally {
    await server.close();
  }
});

test('a port in use is a clear error', async (t) => {
  const { server } = await serve(
    () => ok,
    async () => ok,
  );
  try {
    const err = await t.throwsAsync(
      startHealthServer({
        port: server.port,
        host: '127.0.0.1',
        checks: { live: () => ok, ready: async () => ok },
        metrics: new PrometheusRegistry({ processMetrics: false }),
        logger: silentLogger,
      }),
    );
    t.regex(err?.message ?? '', /cannot serve \/healthz on 127\.0\.0\.1:\d+: EADDRINUSE/);
  } finally {
    await server.close();
  }
});
