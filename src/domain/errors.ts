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

// Classification of cloud errors, by the AWS error code (the SDK's `name`, the query protocols'
// `Code`, or CloudError.code once wrapped), the HTTP status and Node's network error `code`: never by
// message text, which AWS may reword. The code lists follow the EC2 and Auto Scaling API references
// ("Error codes for the Amazon EC2 API", "Common Errors") and the SDK's own retry classification.

/** Codes that name a missing thing. EC2's are `<Resource>.NotFound` (InvalidInstanceID.NotFound…). */
const NOT_FOUND_CODES = new Set([
  'InvalidLaunchTemplateId.VersionNotFound',
  'InvalidLaunchTemplateName.NotFoundException',
  // An id EC2 cannot even parse names no instance or volume: as gone as a well-formed unknown one.
  'InvalidInstanceID.Malformed',
  'InvalidVolumeID.Malformed',
  'ResourceNotFoundException',
  'ResourceNotFound',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
]);

/** Throttling codes (the same list the SDK's standard retry mode treats as throttling). */
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'EC2ThrottledException',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'LimitExceededException',
]);

const ACCESS_DENIED_CODES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthFailure',
  'NotAuthorized',
]);

/** Server-side failures worth another try, whatever their HTTP status says. */
const TRANSIENT_CODES = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Node's codes for a connection that failed or broke (on `code`, possibly on a cause). */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface AwsShaped {
  name?: string;
  Code?: string;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  cause?: unknown;
}

const shape = (err: unknown): AwsShaped => (err && typeof err === 'object' ? (err as AwsShaped) : {});

/** The AWS error code: CloudError.code, else the SDK's `Code`, Node's `code`, or the error's name. */
export function errorCode(err: unknown): string {
  if (err instanceof CloudError) return err.code;
  const e = shape(err);
  return e.Code ?? (typeof e.code === 'string' ? e.code : undefined) ?? e.name ?? 'Error';
}

/** The HTTP status of the AWS answer, when there was one (on the error or the error it wraps). */
export function httpStatusOf(err: unknown): number | undefined {
  for (let cur: unknown = err, depth = 0; cur && depth < 5; cur = shape(cur).cause, depth++) {
    const status = shape(cur).$metadata?.httpStatusCode;
    if (status !== undefined) return status;
  }
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code.endsWith('.NotFound') || NOT_FOUND_CODES.has(code);
}

/**
 * The instance ids an InvalidInstanceID.NotFound names: EC2 names every unknown id of the request, "The
 * instance ID 'i-1' does not exist" or "The instance IDs 'i-1, i-2' do not exist" (the text is not in the
 * API reference; it is what EC2 answers, quoted in getmoto/moto#4903). Empty when the text names none:
 * callers must not depend on it for correctness. Looks through wrappers.
 */
export function notFoundInstanceIds(err: unknown): string[] {
  for (let cur: unknown = err, depth = 0; cur && depth < 5; cur = shape(cur).cause, depth++) {
    const m = cur instanceof Error ? /instance IDs? '([^']+)' do(?:es)? not exist/i.exec(cur.message) : null;
    if (m) return m[1]!.split(/,\s*/).filter((id) => id.length > 0);
  }
  return [];
}

export function isThrottled(err: unknown): boolean {
  return (
    THROTTLING_CODES.has(errorCode(err)) ||
    httpStatusOf(err) === 429 ||
    shape(err).$retryable?.throttling === true
  );
}

export function isAccessDenied(err: unknown): boolean {
  return ACCESS_DENIED_CODES.has(errorCode(err));
}

/**
 * A DynamoDB conditional write that found its condition false: for the coordination store, "another
 * replica holds it", an answer and not a failure (never retried, never counted as an error).
 */
export function isConditionFailed(err: unknown): boolean {
  return errorCode(err) === 'ConditionalCheckFailedException';
}

/**
 * The code of a change the reconciler's guard refused because this replica no longer holds the leader
 * lease at its epoch (app/service.ts, fencing): not a failure of the change, a decision not to make it.
 */
export const NOT_LEADER = 'NotLeader';

/** The refusal of the leader fencing check (NOT_LEADER) on the error or anywhere in its causes, if any. */
export function notLeaderRefusal(err: unknown): CloudError | undefined {
  for (let cur: unknown = err, depth = 0; cur && depth < 5; cur = shape(cur).cause, depth++)
    if (cur instanceof CloudError && cur.code === NOT_LEADER) return cur;
  return undefined;
}

/** A failed or broken connection: Node's code on the error or anywhere in its causes. */
export function isNetworkError(err: unknown): boolean {
  for (let cur: unknown = err, depth = 0; cur && depth < 5; cur = shape(cur).cause, depth++) {
    const code = shape(cur).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  }
  return false;
}

/**
 * Whether a later attempt may succeed: throttling, a 5xx or a transient server code, an error the SDK
 * marked retryable, a broken connection. A CloudError carries the verdict made when it was wrapped.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof CloudError) return err.retryable || isThrottled(err);
  const status = httpStatusOf(err);
  return (
    isThrottled(err) ||
    TRANSIENT_CODES.has(errorCode(err)) ||
    (status !== undefined && status >= 500) ||
    shape(err).$retryable !== undefined ||
    isNetworkError(err)
  );
}

/**
 * Auto Scaling reports a missing group ("AutoScalingGroup name not found"), an instance that is not
 * (or no longer) a member ("The instance i-… is not part of Auto Scaling group web") and a lifecycle
 * action that is over ("No active Lifecycle Action found") all as the generic `ValidationError`; only
 * the message tells them from a malformed request. This is the one place that reads that message, for
 * the decisions that hinge on it: a detach already done, a lifecycle action already completed.
 */
export function isAutoScalingNotFound(err: unknown): boolean {
  return (
    errorCode(err) === 'ValidationError' &&
    /not found|not part of|does not exist|No active Lifecycle Action/i.test(describeError(err))
  );
}

/**
 * DetachInstances (and EnterStandby) refuse a member that is not InService or Standby: Pending,
 * Pending:Wait, Detaching, Terminating* ("The instance i-… is not in InService or Standby"; *Detach or
 * attach instances*, EC2 Auto Scaling user guide). Like the not-found cases it is a plain
 * `ValidationError` told apart only by its message, read here and nowhere else. The caller re-reads the
 * member: one already leaving needs no detach, one still launching is tried again on a later pass.
 */
export function isAutoScalingNotInService(err: unknown): boolean {
  return errorCode(err) === 'ValidationError' && /not in InService or Standby/i.test(describeError(err));
}

/**
 * The SDK found no credentials anywhere in its default chain (CredentialsProviderError, "Could not load
 * credentials from any providers"): the operator's setup, not an AWS fault. Looks through wrappers.
 */
export function isMissingCredentials(err: unknown): boolean {
  for (let cur: unknown = err, depth = 0; cur && depth < 5; cur = shape(cur).cause, depth++) {
    if (shape(cur).name === 'CredentialsProviderError') return true;
    if (cur instanceof Error && /could not load credentials from any providers/i.test(cur.message))
      return true;
  }
  return false;
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

/**
 * EC2 has no capacity for the instance type in that AZ (RunInstances, StartInstances; *Error codes for
 * the Amazon EC2 API*: "InsufficientInstanceCapacity — There is not enough capacity to fulfill your
 * request"): waiting does not help within seconds, another type or AZ may. Looks through wrappers.
 */
export function isInsufficientCapacity(err: unknown): boolean {
  for (let cur: unknown = err, depth = 0; cur && depth < 5; cur = shape(cur).cause, depth++) {
    const code = errorCode(cur);
    if (code === 'InsufficientInstanceCapacity' || code === 'InsufficientHostCapacity') return true;
  }
  return false;
}
