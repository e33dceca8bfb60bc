import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { isConditionFailed } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import {
  assertTtl,
  CLAIM_DONE_RETENTION_MS,
  type Claim,
  type CoordinationPort,
  expirySeconds,
  type Lease,
  SKEW_MARGIN_MS,
  takeoverCutoffSeconds,
} from '../ports/coordination.js';
import { awsCall, toCloudError } from './call.js';

// The coordination store on one DynamoDB table (string partition key `pk`, TTL on `expiresAt`, as the
// stack creates it). Every decision is one conditional write: DynamoDB applies a write only when its
// condition holds on the item as stored, atomically, so of two replicas writing at once exactly one
// succeeds and the other gets ConditionalCheckFailedException, which here means "someone else holds
// it" and comes with the item as stored (ReturnValuesOnConditionCheckFailure), so no second read is
// needed to say who. See ports/coordination.ts for how expiries are compared despite clock skew.
//
// Two kinds of rows, told apart by the key's prefix:
// - `lease#<name>`: holder, epoch, leaseUntil (epoch ms). Deliberately not in the TTL attribute: a row
//   DynamoDB deleted after expiry would restart the epoch at 1, and a fencing token must never repeat.
//   There is one row per lease name, so keeping them costs nothing.
// - `claim#<instance id>`: holder, expiresAt (epoch seconds, the TTL attribute: DynamoDB deletes old
//   claims on its own), and outcome once completed.

type Item = Record<string, AttributeValue>;

type Conditional<T> = { ok: true; out: T } | { ok: false; stored: Item | undefined };

const NAMES = {
  '#holder': 'holder',
  '#epoch': 'epoch',
  '#until': 'leaseUntil',
  '#exp': 'expiresAt',
  '#outcome': 'outcome',
};

/** Expression attribute names used by `expression` only (DynamoDB refuses unused ones). */
function namesIn(expression: string): Record<string, string> {
  return Object.fromEntries(Object.entries(NAMES).filter(([k]) => expression.includes(k)));
}

const num = (n: number): AttributeValue => ({ N: String(n) });
const str = (s: string): AttributeValue => ({ S: s });

function leaseOf(item: Item | undefined): { holder: string; epoch: number; until: number } {
  return {
    holder: item?.holder?.S ?? '',
    epoch: Number(item?.epoch?.N ?? 0),
    until: Number(item?.leaseUntil?.N ?? 0),
  };
}

function claimOf(item: Item | undefined, claimed: boolean): Claim {
  const outcome = item?.outcome?.S;
  return {
    claimed,
    holder: item?.holder?.S ?? '',
    expiresAt: new Date(Number(item?.expiresAt?.N ?? 0) * 1000),
    ...(outcome !== undefined ? { outcome } : {}),
  };
}

export interface AwsCoordinationOptions {
  client: DynamoDBClient;
  table: string;
  /** This replica's clock: expiries are written and compared by it. */
  clock: Clock;
  skewMarginMs?: number;
}

export class AwsCoordination implements CoordinationPort {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly clock: Clock;
  private readonly margin: number;

  constructor(opts: AwsCoordinationOptions) {
    this.client = opts.client;
    this.table = opts.table;
    this.clock = opts.clock;
    this.margin = opts.skewMarginMs ?? SKEW_MARGIN_MS;
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease> {
    assertTtl(ttlMs, `acquiring the lease ${name}`);
    const now = this.clock.now().getTime();
    const until = now + ttlMs;
    const context = `acquiring the lease ${name} for ${holder} in ${this.table}`;
    const key = { pk: str(`lease#${name}`) };
    // Renewal first: the holder's own call, every few seconds, is the common one and needs one write.
    const renew = await this.update(context, {
      Key: key,
      ConditionExpression: '#holder = :holder',
      UpdateExpression: 'SET #until = :until',
      ExpressionAttributeValues: { ':holder': str(holder), ':until': num(until) },
    });
    if (renew.ok) return { held: true, holder, epoch: leaseOf(renew.out).epoch, expiresAt: new Date(until) };
    const stored = leaseOf(renew.stored);
    if (stored.holder && stored.until >= now - this.margin)
      return { held: false, holder: stored.holder, epoch: stored.epoch, expiresAt: new Date(stored.until) };
    // Free (never held, released) or expired past the skew margin: take it over, with a new epoch.
    const take = await this.update(context, {
      Key: key,
      ConditionExpression: 'attribute_not_exists(pk) OR attribute_not_exists(#holder) OR #until < :cutoff',
      UpdateExpression: 'SET #holder = :holder, #until = :until ADD #epoch :one',
      ExpressionAttributeValues: {
        ':holder': str(holder),
        ':until': num(until),
        ':cutoff': num(now - this.margin),
        ':one': num(1),
      },
    });
    if (take.ok) return { held: true, holder, epoch: leaseOf(take.out).epoch, expiresAt: new Date(until) };
    // Another replica took it between our two writes.
    const winner = leaseOf(take.stored);
    return { held: false, holder: winner.holder, epoch: winner.epoch, expiresAt: new Date(winner.until) };
  }

  async releaseLease(name: string, holder: string, epoch: number): Promise<boolean> {
    const r = await this.update(`releasing the lease ${name} held by ${holder} (epoch ${epoch})`, {
      Key: { pk: str(`lease#${name}`) },
      ConditionExpression: '#holder = :holder AND #epoch = :epoch',
      // The row stays (with its epoch) so the next holder's epoch is higher still.
      UpdateExpression: 'SET #until = :now REMOVE #holder',
      ExpressionAttributeValues: {
        ':holder': str(holder),
        ':epoch': num(epoch),
        ':now': num(this.clock.now().getTime()),
      },
    });
    return r.ok;
  }

  async checkLease(name: string, holder: string, epoch: number): Promise<boolean> {
    const out = await awsCall(
      'dynamodb',
      'GetItem',
      `checking that ${holder} still holds the lease ${name} (epoch ${epoch}) in ${this.table}`,
      () =>
        this.client.send(
          new GetItemCommand({
            TableName: this.table,
            Key: { pk: str(`lease#${name}`) },
            // A write acknowledged by DynamoDB (a takeover) must be seen: an eventually consistent read
            // could answer from a replica that has not got it yet.
            ConsistentRead: true,
          }),
        ),
    );
    const stored = leaseOf(out.Item);
    return stored.holder === holder && stored.epoch === epoch && this.clock.now().getTime() < stored.until;
  }

  async claim(key: string, holder: string, ttlMs: number): Promise<Claim> {
    assertTtl(ttlMs, `claiming ${key}`);
    const now = this.clock.now().getTime();
    const expiresAt = expirySeconds(now, ttlMs);
    const context = `claiming ${key} for ${holder} in ${this.table}`;
    const r = await this.conditional('PutItem', context, () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          // A whole new item: an expired claim's holder and outcome go with it.
          Item: { pk: str(`claim#${key}`), holder: str(holder), expiresAt: num(expiresAt) },
          ConditionExpression: 'attribute_not_exists(pk) OR #exp < :cutoff',
          ExpressionAttributeNames: namesIn('#exp'),
          ExpressionAttributeValues: { ':cutoff': num(takeoverCutoffSeconds(now, this.margin)) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (r.ok) return { claimed: true, holder, expiresAt: new Date(expiresAt * 1000) };
    return claimOf(r.stored, false);
  }

  async renewClaim(key: string, holder: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs, `renewing the claim on ${key}`);
    const r = await this.update(`renewing ${holder}'s claim on ${key} in ${this.table}`, {
      Key: { pk: str(`claim#${key}`) },
      ConditionExpression: '#holder = :holder AND attribute_not_exists(#outcome)',
      UpdateExpression: 'SET #exp = :exp',
      ExpressionAttributeValues: {
        ':holder': str(holder),
        ':exp': num(expirySeconds(this.clock.now().getTime(), ttlMs)),
      },
    });
    return r.ok;
  }

  async releaseClaim(key: string, holder: string): Promise<boolean> {
    const condition = '#holder = :holder AND attribute_not_exists(#outcome)';
    const r = await this.conditional(
      'DeleteItem',
      `releasing ${holder}'s claim on ${key} in ${this.table}`,
      () =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.table,
            Key: { pk: str(`claim#${key}`) },
            ConditionExpression: condition,
            ExpressionAttributeNames: namesIn(condition),
            ExpressionAttributeValues: { ':holder': str(holder) },
          }),
        ),
    );
    return r.ok;
  }

  async completeClaim(
    key: string,
    holder: string,
    outcome: string,
    retainMs = CLAIM_DONE_RETENTION_MS,
  ): Promise<boolean> {
    assertTtl(retainMs, `completing the claim on ${key}`);
    const r = await this.update(`recording ${holder}'s outcome "${outcome}" for ${key} in ${this.table}`, {
      Key: { pk: str(`claim#${key}`) },
      ConditionExpression: '#holder = :holder',
      UpdateExpression: 'SET #outcome = :outcome, #exp = :exp',
      ExpressionAttributeValues: {
        ':holder': str(holder),
        ':outcome': str(outcome),
        ':exp': num(expirySeconds(this.clock.now().getTime(), retainMs)),
      },
    });
    return r.ok;
  }

  /** A conditional UpdateItem returning the item after the write, or as stored when the condition failed. */
  private async update(
    context: string,
    input: {
      Key: Item;
      ConditionExpression: string;
      UpdateExpression: string;
      ExpressionAttributeValues: Item;
    },
  ): Promise<Conditional<Item | undefined>> {
    const r = await this.conditional('UpdateItem', context, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          ...input,
          ExpressionAttributeNames: namesIn(`${input.ConditionExpression} ${input.UpdateExpression}`),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    return r.ok ? { ok: true, out: r.out.Attributes } : r;
  }

  /** Runs one conditional write: a failed condition is an answer (with the stored item), not an error. */
  private async conditional<T>(
    action: string,
    context: string,
    send: () => Promise<T>,
  ): Promise<Conditional<T>> {
    try {
      return { ok: true, out: await send() };
    } catch (err) {
      if (isConditionFailed(err)) return { ok: false, stored: (err as { Item?: Item }).Item };
      throw toCloudError('dynamodb', action, context, err);
    }
  }
}
