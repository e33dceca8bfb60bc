import { ApiException, type ConfigurationOptions, Observable } from '@kubernetes/client-node';

// Per-call options for the generated client: an AbortSignal (so every call ends inside the release's
// time limit) and, for patches, the Content-Type. Call-time middleware of the ObjectParam API is the
// observable kind (as in the package's own setHeaderOptions).

type RequestContextLike = { setSignal(s: AbortSignal): void; setHeaderParam(k: string, v: string): void };

export function callOptions(signal: AbortSignal, contentType?: string): ConfigurationOptions {
  const middleware = {
    pre: (ctx: RequestContextLike) => {
      ctx.setSignal(signal);
      if (contentType) ctx.setHeaderParam('Content-Type', contentType);
      return new Observable(Promise.resolve(ctx));
    },
    post: <T>(res: T) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' } as unknown as ConfigurationOptions;
}

/** The HTTP status of a failed call, or undefined for a network error / abort. */
export function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A short text for a failed call: status and the API's own message when there is one. */
export function describeKubeError(err: unknown): string {
  if (err instanceof ApiException) {
    let message = '';
    try {
      const body =
        typeof err.body === 'string'
          ? (JSON.parse(err.body) as { message?: string })
          : (err.body as { message?: string });
      message = body?.message ?? '';
    } catch {
      message = String(err.body).slice(0, 200);
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  if (err instanceof Error) {
    const name = err.name === 'AbortError' ? 'aborted' : err.name;
    return `${name}: ${err.message}`;
  }
  return String(err);
}
