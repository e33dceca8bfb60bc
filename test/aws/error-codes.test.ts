import test from 'ava';
import { toCloudError } from '../../src/aws/call.js';
import {
  CloudError,
  describeError,
  errorCode,
  isAccessDenied,
  isAutoScalingNotFound,
  isNetworkError,
  isNotFound,
  isRetryable,
  isThrottled,
} from '../../src/domain/errors.js';

// The classifier over errors shaped as the SDK v3 throws them: `name` is the AWS error code, the query
// protocols (EC2, Auto Scaling) also set `Code`, `$metadata.httpStatusCode` is the HTTP status. Node's
// network errors carry `code`. Messages are deliberately misleading in places: only codes may count.

function sdkError(code: string, status: number, message = `${code} message`, query = true): Error {
  return Object.assign(new Error(message), {
    name: code,
    ...(query ? { Code: code } : {}),
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 3 },
  });
}

type Verdict = 'notFound' | 'throttled' | 'denied' | 'asgNotFound' | 'retryable' | 'network';

const table: [string, unknown, Verdict[]][] = [
  ['EC2 unknown instance', sdkError('InvalidInstanceID.NotFound', 400), ['notFound']],
  ['EC2 malformed instance id', sdkError('InvalidInstanceID.Malformed', 400), ['notFound']],
  ['EC2 unknown volume', sdkError('InvalidVolume.NotFound', 400), ['notFound']],
  ['EC2 unknown attachment', sdkError('InvalidAttachment.NotFound', 400), ['notFound']],
  ['EC2 unknown template version', sdkError('InvalidLaunchTemplateId.VersionNotFound', 400), ['notFound']],
  ['SQS queue gone (JSON protocol)', sdkError('QueueDoesNotExist', 400, 'gone', false), ['notFound']],
  [
    'ASG group not found',
    sdkError('ValidationError', 400, 'AutoScalingGroup name not found - AutoScalingGroup web not found'),
    ['asgNotFound'],
  ],
  [
    'ASG instance not a member',
    sdkError('ValidationError', 400, 'The instance i-0abc is not part of Auto Scaling group web.'),
    ['asgNotFound'],
  ],
  [
    'ASG lifecycle action over',
    sdkError('ValidationError', 400, 'No active Lifecycle Action found with instance ID i-0abc'),
    ['asgNotFound'],
  ],
  [
    'ASG bad request',
    sdkError(
      'ValidationError',
      400,
      'Desired capacity:5 must be between the specified min size:0 and max size:3',
    ),
    [],
  ],
  ['ASG throttling', sdkError('Throttling', 400, 'Rate exceeded'), ['throttled', 'retryable']],
  ['EC2 request limit', sdkError('RequestLimitExceeded', 503), ['throttled', 'retryable']],
  ['JSON-protocol throttling', sdkError('ThrottlingException', 400, 'x', false), ['throttled', 'retryable']],
  ['too many requests', sdkError('TooManyRequestsException', 400, 'x', false), ['throttled', 'retryable']],
  ['a bare 429', sdkError('UnknownError', 429, 'slow down'), ['throttled', 'retryable']],
  [
    'ASG quota (not throttling)',
    sdkError('LimitExceeded', 400, 'You have reached your limit: throttling'),
    [],
  ],
  ['ASG access denied', sdkError('AccessDenied', 403, 'User is not authorized'), ['denied']],
  ['EC2 unauthorized', sdkError('UnauthorizedOperation', 403), ['denied']],
  ['EC2 auth failure', sdkError('AuthFailure', 401), ['denied']],
  ['EC2 internal error', sdkError('InternalError', 500), ['retryable']],
  ['ASG service unavailable', sdkError('ServiceUnavailable', 503), ['retryable']],
  ['unparsed 502 page', sdkError('Unknown', 502, '<html>Bad Gateway</html>'), ['retryable']],
  [
    'SDK request timeout',
    Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }),
    ['retryable'],
  ],
  [
    'connection reset',
    Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    ['retryable', 'network'],
  ],
  [
    'fetch refused (code on the cause)',
    new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
    ['retryable', 'network'],
  ],
  // Message text alone classifies nothing.
  ['plain error mentioning throttling', new Error('Throttling: Rate exceeded'), []],
  ['plain error mentioning NotFound', new Error('InvalidInstanceID.NotFound: i-0abc does not exist'), []],
  ['plain error mentioning AccessDenied', new Error('AccessDenied ECONNRESET'), []],
  ['not an error at all', 'Throttling', []],
];

for (const [title, err, expected] of table) {
  test(`classifies: ${title}`, (t) => {
    const got: Verdict[] = [];
    if (isNotFound(err)) got.push('notFound');
    if (isThrottled(err)) got.push('throttled');
    if (isAccessDenied(err)) got.push('denied');
    if (isAutoScalingNotFound(err)) got.push('asgNotFound');
    if (isRetryable(err)) got.push('retryable');
    if (isNetworkError(err)) got.push('network');
    t.deepEqual(got, expected);
  });
}

test('wrapped in a CloudError, the code and the retry verdict survive; describeError keeps the chain', (t) => {
  for (const [title, err, expected] of table) {
    if (!(err instanceof Error)) continue;
    const wrapped = toCloudError('autoscaling', 'DetachInstances', 'detaching i-0abc from web', err);
    t.true(wrapped instanceof CloudError, title);
    t.is(wrapped.retryable, expected.includes('retryable'), title);
    t.is(isNotFound(wrapped), expected.includes('notFound'), title);
    t.is(isThrottled(wrapped), expected.includes('throttled'), title);
    t.is(isAccessDenied(wrapped), expected.includes('denied'), title);
    t.is(isAutoScalingNotFound(wrapped), expected.includes('asgNotFound'), title);
    t.true(describeError(wrapped).includes(err.message), title);
  }
});

test('errorCode: CloudError code, else Code, Node code, name', (t) => {
  t.is(errorCode(new CloudError('X', 'doing', 'InvalidVolume.NotFound', false)), 'InvalidVolume.NotFound');
  t.is(errorCode(sdkError('Throttling', 400)), 'Throttling');
  t.is(errorCode(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), 'ECONNRESET');
  t.is(errorCode(new TypeError('x')), 'TypeError');
  t.is(errorCode(undefined), 'Error');
  // A 502 page the SDK could not parse is shown by its status.
  t.is(toCloudError('ec2', 'DescribeInstances', 'describing', sdkError('Unknown', 502)).code, 'HTTP 502');
});

test('a hand-built CloudError keeps its retry verdict, and a throttling code is retryable regardless', (t) => {
  t.true(isRetryable(new CloudError('X', 'doing', 'InternalError', true)));
  t.false(isRetryable(new CloudError('X', 'doing', 'ValidationError', false)));
  t.true(isRetryable(new CloudError('X', 'doing', 'RequestLimitExceeded', false)));
});
