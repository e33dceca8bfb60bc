import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../domain/errors.js';
import type { Logger } from '../ports/logger.js';
import type { HealthResult } from './checks.js';

// /healthz (process alive, loops ticking), /readyz (policies loaded, AWS and queue reachable) and
// /metrics (Prometheus 0.0.4). ECS's container health check and the Docker HEALTHCHECK call /healthz;
// /readyz is for humans and dashboards: a failing dependency must not get the task killed and restarted.

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export interface HealthServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
  checks: {
    live(): HealthResult;
    ready(): Promise<HealthResult>;
  };
  /** The /metrics text; prom-client renders it asynchronously. */
  metrics: { exposition(): string | Promise<string> };
  logger: Logger;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { checks, metrics, logger } = options;
  const host = options.host ?? '0.0.0.0';

  const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean) => {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(head ? undefined : body);
  };
  const sendHealth = (res: ServerResponse, result: HealthResult, head: boolean) =>
    send(
      res,
      result.ok ? 200 : 503,
      JSON_CONTENT_TYPE,
      JSON.stringify({ status: result.ok ? 'ok' : 'fail', checks: result.checks }),
      head,
    );

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return send(
        res,
        405,
        JSON_CONTENT_TYPE,
        JSON.stringify({ error: `method ${req.method} not allowed` }),
        false,
      );
    }
    switch (path) {
      case '/healthz':
        return sendHealth(res, checks.live(), head);
      case '/readyz':
        return sendHealth(res, await checks.ready(), head);
      case '/metrics':
        return send(res, 200, PROMETHEUS_CONTENT_TYPE, await metrics.exposition(), head);
      default:
        return send(
          res,
          404,
          JSON_CONTENT_TYPE,
          JSON.stringify({ error: `no such path ${path}; try /healthz, /readyz, /metrics` }),
          head,
        );
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      // A check that throws is a failing check, not a crashed server.
      logger.error({ err, path: req.url }, 'health endpoint failed');
      if (!res.headersSent) {
        send(
          res,
          503,
          JSON_CONTENT_TYPE,
          JSON.stringify({ status: 'fail', error: describeError(err) }),
          req.method === 'HEAD',
        );
      } else {
        res.end();
      }
    });
  });
  // Keep-alive connections from a scraper must not hold close() open.
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new Error(`cannot serve /healthz on ${host}:${options.port}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'health server error'));
  const port = (server.address() as AddressInfo).port;
  logger.info({ host, port }, 'serving /healthz, /readyz and /metrics');

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
