// A small error hierarchy: every error says what was being done ("detaching i-123 from web-asg")
// and keeps the cause, so one log line explains a failure.

export class SpotmaxError extends Error {
  override name = 'SpotmaxError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bad input from the user: a policy file, a flag, a tag value. Exit code 1. */
export class UserError extends SpotmaxError {
  override name = 'UserError';
}

/** A cloud API call failed; `action` is the API action (DetachInstances), `context` what we were doing. */
export class CloudError extends SpotmaxError {
  override name = 'CloudError';
  readonly action: string;
  readonly code: string;
  readonly retryable: boolean;
  constructor(action: string, context: string, code: string, retryable: boolean, cause?: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super(`${context}: ${action} failed (${code})${detail}`, { cause });
    this.action = action;
    this.code = code;
    this.retryable = retryable;
  }
}

/** A problem that retrying will not fix (unsuitable group, bad tag): reported, not retried. */
export class TerminalError extends SpotmaxError {
  override name = 'TerminalError';
}

/** A step ran past its deadline. */
export class DeadlineError extends SpotmaxError {
  override name = 'DeadlineError';
}

const NOT_FOUND =
  /NotFound|does not exist|not found|InvalidInstanceID|InvalidVolume\.NotFound|ValidationError.*not part/i;
const THROTTLED = /Throttl|RequestLimitExceeded|Rate exceeded|TooManyRequests|SlowDown/i;
const ACCESS_DENIED = /AccessDenied|UnauthorizedOperation|AuthFailure|not authorized/i;

function codeOf(err: unknown): string {
  if (err instanceof CloudError) return err.code;
  if (err && typeof err === 'object') {
    const e = err as { name?: string; Code?: string; code?: string };
    return e.Code ?? e.code ?? e.name ?? 'Error';
  }
  return 'Error';
}

function textOf(err: unknown): string {
  return `${codeOf(err)} ${err instanceof Error ? err.message : String(err)}`;
}

export function isNotFound(err: unknown): boolean {
  return NOT_FOUND.test(textOf(err));
}

export function isThrottled(err: unknown): boolean {
  return THROTTLED.test(textOf(err));
}

export function isAccessDenied(err: unknown): boolean {
  return ACCESS_DENIED.test(textOf(err));
}

export function errorCode(err: unknown): string {
  return codeOf(err);
}

/** One line for logs: the message chain, causes included. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    parts.push(cur instanceof Error ? cur.message : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return [...new Set(parts)].join(' <- ');
}
