import { CloudError, errorCode, httpStatusOf, isAccessDenied, isRetryable } from '../domain/errors.js';
import { type AwsService, IAM_POLICY_FILE, iamPermission } from './permissions.js';

// The one place where SDK errors become CloudErrors. The SDK has already retried throttling and 5xx
// with its standard backoff by the time an error reaches here; `retryable` (classified by error code,
// see domain/errors.ts) tells callers whether a later attempt (next reconcile pass, message
// redelivery, the fast path's retry inside its deadline) may succeed.

/** Wraps an error of `service`'s `action` in a CloudError that says what spotmax was doing. */
export function toCloudError(service: AwsService, action: string, context: string, err: unknown): CloudError {
  if (err instanceof CloudError) return err;
  const status = httpStatusOf(err);
  // An answer the SDK could not parse (an HTML error page from a proxy) has no AWS code; the HTTP
  // status is the most useful thing to show.
  const sdkCode = errorCode(err);
  const code = (sdkCode === 'Error' || sdkCode === 'Unknown') && status ? `HTTP ${status}` : sdkCode;
  const wrapped = new CloudError(action, context, code, isRetryable(err), err);
  if (isAccessDenied(err)) {
    const permission = iamPermission(service, action);
    wrapped.message += ` — spotmax lacks the IAM permission ${permission}; grant it to spotmax's role (see ${IAM_POLICY_FILE})`;
  }
  return wrapped;
}

/** Runs one SDK call; any failure comes out as a CloudError naming the action and the context. */
export async function awsCall<T>(
  service: AwsService,
  action: string,
  context: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toCloudError(service, action, context, err);
  }
}
