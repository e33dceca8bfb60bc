import test from 'ava';
import { warmRegion } from './helpers.js';

// The simulated SQS follows "ChangeMessageVisibility" (SQS API Reference) and "Amazon SQS short and
// long polling" (SQS Developer Guide).

test('a long poll returns as soon as a message whose visibility was changed is visible again', async (t) => {
  const region = await warmRegion();
  const url = region.queueUrl;
  region.sqs.deliver(url, 'm');
  const [m] = await region.sqs.receive(url, { maxMessages: 1, waitSeconds: 0, visibilityTimeoutSeconds: 60 });
  await region.sqs.changeVisibility(url, m!.receiptHandle, 2);
  const t0 = region.clock.nowMs();
  const again = await region.clock.drive(region.sqs.receive(url, { maxMessages: 1, waitSeconds: 20 }));
  t.is(region.clock.nowMs() - t0, 2_000);
  t.is(again[0]?.receiveCount, 2);
});

test('ChangeMessageVisibility: refused for a message no longer in flight, an old receipt handle, or past 12 hours', async (t) => {
  const region = await warmRegion();
  const url = region.queueUrl;
  region.sqs.deliver(url, 'm');
  const [first] = await region.sqs.receive(url, {
    maxMessages: 1,
    waitSeconds: 0,
    visibilityTimeoutSeconds: 10,
  });
  t.is(region.sqs.inFlight(url), 1);
  await region.clock.advanceBy(11_000);
  t.is(region.sqs.inFlight(url), 0);
  await t.throwsAsync(region.sqs.changeVisibility(url, first!.receiptHandle, 30), {
    message: /MessageNotInflight/,
  });
  const [second] = await region.sqs.receive(url, {
    maxMessages: 1,
    waitSeconds: 0,
    visibilityTimeoutSeconds: 10,
  });
  await t.throwsAsync(region.sqs.changeVisibility(url, first!.receiptHandle, 30), {
    message: /ReceiptHandleIsInvalid/,
  });
  await t.throwsAsync(region.sqs.changeVisibility(url, second!.receiptHandle, 43_201), {
    message: /InvalidParameterValue/,
  });
  await region.sqs.changeVisibility(url, second!.receiptHandle, 43_200);
  await region.clock.advanceBy(60_000);
  // 12 hours counted from the receive: one more minute is over the limit.
  await t.throwsAsync(region.sqs.changeVisibility(url, second!.receiptHandle, 43_200), {
    message: /InvalidParameterValue/,
  });
});
