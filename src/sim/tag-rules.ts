import { awsError } from './api.js';

// The tag rules EC2 and Auto Scaling enforce ("Tag restrictions" in "Tag your Amazon EC2 resources" and
// in the Auto Scaling user guide's "Tag Auto Scaling groups and instances"): keys of at most 128
// characters, values of at most 256, no user key starting with `aws:` (reserved; such tags cannot be
// created, changed or deleted), and at most 50 user tags per resource. spotmax keeps state in tag values
// (replacement and fallback records), so a record that outgrows a tag must fail here as it would in AWS.

export const MAX_TAG_KEY = 128;
export const MAX_TAG_VALUE = 256;
export const MAX_TAGS_PER_RESOURCE = 50;

const reserved = (key: string) => key.toLowerCase().startsWith('aws:');

/** The error code each service answers with for a malformed tag. */
type Service = 'ec2' | 'autoscaling';
const invalid = (service: Service, message: string) =>
  awsError(service === 'ec2' ? 'InvalidParameterValue' : 'ValidationError', message);

/** Throws what the service answers when one of `tags` breaks a rule (checked before anything changes). */
export function checkTags(service: Service, tags: Record<string, string>): void {
  for (const [key, value] of Object.entries(tags)) {
    if (key.length === 0 || key.length > MAX_TAG_KEY)
      throw invalid(service, `Tag key '${key.slice(0, 40)}…' must be 1 to ${MAX_TAG_KEY} characters long`);
    if (value.length > MAX_TAG_VALUE)
      throw invalid(
        service,
        `Tag value for key '${key}' is ${value.length} characters long; the limit is ${MAX_TAG_VALUE}`,
      );
    if (reserved(key)) throw invalid(service, `Tag keys starting with 'aws:' are reserved for internal use`);
  }
}

/** Deleting a reserved (aws:) tag is refused too. */
export function checkDeletable(service: Service, keys: string[]): void {
  for (const key of keys)
    if (reserved(key)) throw invalid(service, `Tag keys starting with 'aws:' are reserved for internal use`);
}

/** Throws when adding `added` to a resource that has `existing` keys would pass 50 user tags. */
export function checkTagCount(service: Service, existing: Iterable<string>, added: Iterable<string>): void {
  const keys = new Set<string>();
  for (const k of existing) if (!reserved(k)) keys.add(k);
  for (const k of added) keys.add(k);
  if (keys.size > MAX_TAGS_PER_RESOURCE) {
    throw awsError(
      service === 'ec2' ? 'TagLimitExceeded' : 'LimitExceeded',
      `The maximum number of tags per resource is ${MAX_TAGS_PER_RESOURCE} (${keys.size} requested).`,
    );
  }
}
