import { z } from 'zod';
import type { ParseResult } from '../../domain/events.js';
import { isAsgNotification, parseAsgNotification } from './messages/asg-notification.js';
import { eventBridgeEnvelope } from './messages/common.js';
import { parserFor } from './registry.js';

/** Real events are well under 4 KiB; SQS allows 256 KiB. Anything larger is not an event we know. */
export const MAX_BODY_BYTES = 64 * 1024;

const snsEnvelope = z
  .object({ Type: z.literal('Notification'), Message: z.string(), MessageId: z.string().optional() })
  .loose();

/**
 * Parses a queue message body into events, unwrapping an SNS envelope first. Never throws: anything that
 * is not an event spotmax acts on comes back as a discard reason with a detail for the log.
 */
export function parseMessageBody(body: string, messageId: string): ParseResult {
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
    return {
      ok: false,
      reason: 'too-large',
      detail: `body of ${Buffer.byteLength(body, 'utf8')} bytes (limit ${MAX_BODY_BYTES})`,
    };
  }
  let json = parseJson(body);
  if (json === undefined) return { ok: false, reason: 'not-json', detail: 'body is not JSON' };
  const sns = snsEnvelope.safeParse(json);
  if (sns.success) {
    json = parseJson(sns.data.Message);
    if (json === undefined) return { ok: false, reason: 'not-json', detail: 'SNS Message is not JSON' };
  }
  if (!isRecord(json)) return { ok: false, reason: 'malformed', detail: 'body is not a JSON object' };
  if (!('detail-type' in json) && isAsgNotification(json)) return parseAsgNotification(json, messageId);

  const env = eventBridgeEnvelope.safeParse(json);
  if (!env.success) return { ok: false, reason: 'malformed', detail: z.prettifyError(env.error) };
  const parser = parserFor(env.data.source, env.data['detail-type']);
  if (!parser) {
    return { ok: false, reason: 'unknown-type', detail: `${env.data.source} / ${env.data['detail-type']}` };
  }
  try {
    const events = parser(env.data);
    if (events.length === 0) {
      return {
        ok: false,
        reason: 'irrelevant',
        detail: `${env.data['detail-type']} concerns no instance spotmax acts on`,
      };
    }
    return { ok: true, events };
  } catch (err) {
    const detail = err instanceof z.ZodError ? z.prettifyError(err) : String(err);
    return { ok: false, reason: 'malformed', detail: `${env.data['detail-type']}: ${detail}` };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** For logs: the start of a body, never more than `max` characters. */
export function truncateBody(body: string, max = 500): string {
  return body.length <= max ? body : `${body.slice(0, max)}… (${body.length} chars)`;
}
