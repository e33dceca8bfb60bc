import test from 'ava';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { captureLogger, makeController, msg } from './helpers/setup.js';
import { simWorld } from './helpers/sim-world.js';

// Every log line about one event carries its id as correlationId (and the instance), so the dashboard's
// Logs Insights query and an operator's filter find release, detach and outcome of one interruption.

test('every line logged while handling an event carries its correlationId and instance', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2 }]);
  const logger = captureLogger();
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock, logger });
  const victim = w.members('web')[0]!;
  const event = buildSampleEvent({
    type: 'spot-interruption',
    instanceId: victim,
    region: 'us-east-1',
    time: w.clock.now(),
    id: 'evt-0001',
  });
  t.is(await w.clock.drive(controller.handleMessage(msg(event), 'q1')), 'delete');
  const about = logger.lines.filter((l) => (l.obj as { instanceId?: string }).instanceId === victim);
  t.true(about.length >= 2, `lines about ${victim}: ${about.length}`);
  for (const l of about) t.is((l.obj as { correlationId?: string }).correlationId, 'evt-0001', l.msg);
});
