import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { QueueMessage, QueuePort, ReceiveOptions } from '../ports/queue.js';
import { awsCall } from './call.js';

/** The last path segment of a queue URL, for messages. */
function queueName(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1) || url;
}

export class AwsQueue implements QueuePort {
  constructor(private readonly client: SQSClient) {}

  async receive(queueUrl: string, options: ReceiveOptions): Promise<QueueMessage[]> {
    if (options.signal?.aborted) return [];
    try {
      const out = await awsCall('sqs', 'ReceiveMessage', `receiving from ${queueName(queueUrl)}`, () =>
        this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: options.maxMessages,
            WaitTimeSeconds: options.waitSeconds,
            VisibilityTimeout: options.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          }),
          { abortSignal: options.signal },
        ),
      );
      return (out.Messages ?? []).map((m) => {
        const sent = Number(m.Attributes?.SentTimestamp);
        return {
          messageId: m.MessageId ?? '',
          receiptHandle: m.ReceiptHandle ?? '',
          body: m.Body ?? '',
          receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1) || 1,
          sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent) : undefined,
        };
      });
    } catch (err) {
      // A receive cut short by shutdown is not a failure: whatever it would have got stays on the queue.
      if (options.signal?.aborted) return [];
      throw err;
    }
  }

  async delete(queueUrl: string, receiptHandle: string): Promise<void> {
    await awsCall('sqs', 'DeleteMessage', `deleting a message from ${queueName(queueUrl)}`, () =>
      this.client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle })),
    );
  }

  async changeVisibility(queueUrl: string, receiptHandle: string, timeoutSeconds: number): Promise<void> {
    await awsCall(
      'sqs',
      'ChangeMessageVisibility',
      `extending a message's visibility on ${queueName(queueUrl)} to ${timeoutSeconds}s`,
      () =>
        this.client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: timeoutSeconds,
          }),
        ),
    );
  }

  async send(queueUrl: string, body: string): Promise<string> {
    const out = await awsCall('sqs', 'SendMessage', `sending a message to ${queueName(queueUrl)}`, () =>
      this.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body })),
    );
    return out.MessageId ?? '';
  }

  async check(queueUrl: string): Promise<void> {
    await awsCall('sqs', 'GetQueueAttributes', `checking queue ${queueName(queueUrl)}`, () =>
      this.client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })),
    );
  }
}
