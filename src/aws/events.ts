import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { NotificationEntry, NotificationsPort, PutEventsOutcome } from '../ports/notifications.js';
import { awsCall } from './call.js';
import { type AwsClientOptions, createEventBridgeClient } from './clients.js';

// Notifications on an EventBridge bus with PutEvents. The response has one entry per request entry, in
// order; a refused one carries ErrorCode and ErrorMessage, and FailedEntryCount counts them — the
// call itself succeeds (*Sending events with PutEvents*, "Handling failures with PutEvents"), so a
// refused entry is reported per index for the notifier to retry or count.

/** `default` is the account's default bus: AWS's own events arrive there and rules are made there. */
export const DEFAULT_BUS = 'default';

export class AwsNotifications implements NotificationsPort {
  constructor(
    private readonly client: EventBridgeClient,
    /** A bus name or ARN (another account's bus is named by its ARN). */
    readonly bus: string = DEFAULT_BUS,
  ) {}

  async putEvents(entries: NotificationEntry[]): Promise<PutEventsOutcome> {
    if (entries.length === 0) return { failed: [] };
    const out = await awsCall(
      'events',
      'PutEvents',
      `publishing ${entries.length} events on ${this.bus}`,
      () =>
        this.client.send(
          new PutEventsCommand({
            Entries: entries.map((e) => ({
              Source: e.source,
              DetailType: e.detailType,
              Detail: e.detail,
              Time: e.time,
              EventBusName: this.bus,
            })),
          }),
        ),
    );
    if (!out.FailedEntryCount) return { failed: [] };
    const failed: PutEventsOutcome['failed'] = [];
    (out.Entries ?? []).forEach((r, index) => {
      if (r.ErrorCode)
        failed.push({ index, code: r.ErrorCode, ...(r.ErrorMessage ? { message: r.ErrorMessage } : {}) });
    });
    return { failed };
  }
}

/** The AWS notifications port with its own client (like the coordination store, apart from the Cloud). */
export function createAwsNotifications(opts: AwsClientOptions & { bus?: string }): NotificationsPort {
  return new AwsNotifications(createEventBridgeClient(opts), opts.bus ?? DEFAULT_BUS);
}
