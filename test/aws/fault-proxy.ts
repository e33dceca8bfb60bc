import { createServer, type IncomingMessage, type Server } from 'node:http';

// A loopback HTTP proxy in front of moto that can answer chosen requests itself: throttling, access
// denied, or a canned success for an action moto does not implement. It records every request, so a
// test can check what the adapter sent and how many attempts the SDK made.

export interface ProxiedRequest {
  /** The API action: `Action=` of query protocols or the X-Amz-Target operation of JSON ones. */
  action: string;
  /** Query-protocol parameters (empty for JSON protocols). */
  params: URLSearchParams;
  body: string;
}

export interface FaultAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** Returns an answer to short-circuit the request, or undefined to forward it to moto. */
export type FaultRule = (req: ProxiedRequest) => FaultAnswer | undefined;

export interface FaultProxy {
  endpoint: string;
  requests: ProxiedRequest[];
  setRule(rule: FaultRule | undefined): void;
  close(): Promise<void>;
}

function actionOf(req: IncomingMessage, body: string): { action: string; params: URLSearchParams } {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string')
    return { action: target.split('.').pop() ?? target, params: new URLSearchParams() };
  const params = new URLSearchParams(body);
  return { action: params.get('Action') ?? '', params };
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  let rule: FaultRule | undefined;
  const requests: ProxiedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const body = raw.toString('utf8');
    const seen = { ...actionOf(req, body), body };
    requests.push(seen);
    const answer = rule?.(seen);
    if (answer) {
      res.writeHead(answer.status, { 'content-type': 'text/xml', ...answer.headers });
      res.end(answer.body);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host') headers[k] = v;
    const upstreamRes = await fetch(`${upstream}${req.url ?? '/'}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : raw,
    });
    const out: Record<string, string> = {};
    upstreamRes.headers.forEach((v, k) => {
      if (k !== 'content-encoding' && k !== 'content-length' && k !== 'transfer-encoding') out[k] = v;
    });
    res.writeHead(upstreamRes.status, out);
    res.end(Buffer.from(await upstreamRes.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    setRule: (r) => {
      rule = r;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An error as the Auto Scaling (awsQuery) API writes it. */
export function queryError(status: number, code: string, message: string): FaultAnswer {
  return {
    status,
    body: `<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
  };
}

/** An error as the EC2 API writes it. */
export function ec2Error(status: number, code: string, message: string): FaultAnswer {
  return {
    status,
    body: `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>`,
  };
}

/** An empty success of an awsQuery action, e.g. CompleteLifecycleAction that moto lacks. */
export function querySuccess(action: string): FaultAnswer {
  return {
    status: 200,
    body: `<${action}Response xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><${action}Result/><ResponseMetadata><RequestId>fault-proxy</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** Answers the first `n` requests of `action` with `answer`, then forwards. */
export function firstN(action: string, n: number, answer: FaultAnswer): FaultRule {
  let left = n;
  return (req) => {
    if (req.action !== action || left <= 0) return undefined;
    left--;
    return answer;
  };
}
