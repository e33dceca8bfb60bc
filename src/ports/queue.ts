export interface QueueMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** How many times SQS has delivered it (ApproximateReceiveCount). */
  receiveCount: number;
  /** When SQS first received it (SentTimestamp). */
  sentAt?: Date;
}

export interface ReceiveOptions {
  maxMessages: number;
  waitSeconds: number;
  visibilityTimeoutSeconds?: number;
  signal?: AbortSignal;
}

/** SQS calls the fast path makes. */
export interface QueuePort {
  receive(queueUrl: string, options: ReceiveOptions): Promise<QueueMessage[]>;
  delete(queueUrl: string, receiptHandle: string): Promise<void>;
  changeVisibility(queueUrl: string, receiptHandle: string, timeoutSeconds: number): Promise<void>;
  send(queueUrl: string, body: string): Promise<string>;
  /** Cheap reachability check for /readyz: throws when the queue cannot be reached. */
  check(queueUrl: string): Promise<void>;
}
