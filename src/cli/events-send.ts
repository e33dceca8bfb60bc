import { describeError, UserError } from '../domain/errors.js';
import { buildSampleEvent, type SampleEventType } from '../domain/sample-events.js';
import type { Cloud } from '../ports/cloud.js';
import { awsCloudFrom } from './cloud.js';
import type { CommandIO } from './io.js';
import { awsSettings } from './runtime.js';

export interface EventsSendOptions {
  type: string;
  instance: string;
  state?: string;
  queueUrl?: string;
  region?: string;
}

/**
 * The region an SQS queue URL names: https://sqs.<region>.amazonaws.com/<account>/<name> (also .com.cn
 * and the legacy https://<region>.queue.amazonaws.com/...). Undefined for an emulator's URL.
 */
export function regionFromQueueUrl(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  return (/^sqs\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/.exec(host) ??
    /^([a-z]{2}(?:-[a-z]+)+-\d+)\.queue\.amazonaws\.com(?:\.cn)?$/.exec(host))?.[1];
}

const TYPES: readonly string[] = ['spot-interruption', 'rebalance', 'state-change'];
const STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];

/**
 * `spotmax events send`: puts a correctly shaped EventBridge event on the queue, so an operator can check
 * the wiring (queue, permissions, the running service) without waiting for a real interruption.
 * `makeCloud` is for tests; the command builds the AWS ports from flags and the environment.
 */
export async function eventsSendCommand(
  opts: EventsSendOptions,
  io: CommandIO,
  makeCloud: (region: string) => Cloud = (region) => awsCloudFrom({ region }, io.env),
): Promise<number> {
  try {
    if (!TYPES.includes(opts.type))
      throw new UserError(`--type must be one of ${TYPES.join(', ')}, got "${opts.type}"`);
    if (!/^i-[0-9a-f]{8,17}$/.test(opts.instance))
      throw new UserError(
        `--instance must be an EC2 instance id like i-0123456789abcdef0, got "${opts.instance}"`,
      );
    if (opts.type === 'state-change' && opts.state && !STATES.includes(opts.state)) {
      throw new UserError(`--state must be one of ${STATES.join(', ')}, got "${opts.state}"`);
    }
    const queueUrl = opts.queueUrl ?? io.env.SPOTMAX_QUEUE_URL?.split(',')[0]?.trim();
    if (!queueUrl)
      throw new UserError(
        'no queue to send to: pass --queue-url https://sqs.<region>.amazonaws.com/<account>/<queue> or set SPOTMAX_QUEUE_URL',
      );
    // The queue's URL names its region: a request signed for another region is refused, so it wins over
    // AWS_REGION; only --region overrides it.
    const { region } = awsSettings({ region: opts.region ?? regionFromQueueUrl(queueUrl) }, io.env);
    const event = buildSampleEvent({
      type: opts.type as SampleEventType,
      instanceId: opts.instance,
      region,
      state: opts.state,
    });
    const messageId = await makeCloud(region).queue.send(queueUrl, JSON.stringify(event));
    io.stdout.write(
      `sent ${event['detail-type']} for ${opts.instance} to ${queueUrl} (message ${messageId}, event ${event.id})\n`,
    );
    io.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UserError) {
      io.stderr.write(`spotmax events send: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(`spotmax events send: sending the event failed: ${describeError(err)}\n`);
    return 2;
  }
}
export type { CommandIO };
