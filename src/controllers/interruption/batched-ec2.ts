import type { Tags } from '../../domain/types.js';
import type { Ec2Port } from '../../ports/ec2.js';
import { batchWhileBusy } from '../../timing/batch.js';

// A storm sends dozens of warnings at once, and each handler reads its instance and writes its marker
// tag. One DescribeInstances and one CreateTags per warning exhaust EC2's request buckets ("Request
// throttling for the Amazon EC2 API": mutating calls 50 burst, 5 a second), and the throttled retries
// then spread the handlers out so far that their detaches no longer coalesce. Batched while a call is in
// flight, the storm's reads and marks cost a few calls, and an idle warning waits for nothing.

/** Callers per call (each with an id or a few), well under the 1,000 ids both APIs take. */
const MAX_CALLERS = 100;

export function batchedEc2(ec2: Ec2Port): Ec2Port {
  const describe = batchWhileBusy<string[], Awaited<ReturnType<Ec2Port['describeInstances']>>>(
    async (lists) => {
      const found = await ec2.describeInstances([...new Set(lists.flat())]);
      const byId = new Map(found.map((i) => [i.instanceId, i]));
      return lists.map((ids) => ids.flatMap((id) => byId.get(id) ?? []));
    },
    MAX_CALLERS,
  );
  // CreateTags writes one tag set to all its ids: callers batch by identical tags (a storm's markers
  // share the event time). A tag set's batcher is dropped once nobody waits on it.
  const taggers = new Map<string, { send: (ids: string[]) => Promise<void>; users: number }>();
  const tag = async (ids: string[], tags: Tags) => {
    const key = JSON.stringify(Object.entries(tags).sort());
    let tagger = taggers.get(key);
    if (!tagger) {
      const send = batchWhileBusy<string[], void>(async (lists) => {
        await ec2.createTags([...new Set(lists.flat())], tags);
        return lists.map(() => undefined);
      }, MAX_CALLERS);
      tagger = { send, users: 0 };
      taggers.set(key, tagger);
    }
    tagger.users++;
    try {
      await tagger.send(ids);
    } finally {
      if (--tagger.users === 0) taggers.delete(key);
    }
  };
  return new Proxy(ec2, {
    get(obj, prop, receiver) {
      if (prop === 'describeInstances') return describe;
      if (prop === 'createTags') return tag;
      return Reflect.get(obj, prop, receiver);
    },
  });
}
