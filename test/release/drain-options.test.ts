import test from 'ava';
import { parseDrainOptions } from '../../src/release/kubernetes/drain-options.js';

test('defaults without a drain option: DaemonSets ignored, emptyDir and unmanaged pods kept', (t) => {
  t.deepEqual(parseDrainOptions(undefined), {
    ignoreDaemonsets: true,
    deleteEmptyDirData: false,
    force: false,
    ignored: [],
  });
});

test("the seed's kubectl flags", (t) => {
  const o = parseDrainOptions(
    '--ignore-daemonsets --delete-local-data --force --grace-period=15 --timeout 2m',
  );
  t.like(o, {
    ignoreDaemonsets: true,
    deleteEmptyDirData: true,
    force: true,
    gracePeriodSeconds: 15,
    timeoutSeconds: 120,
  });
  t.deepEqual(o.ignored, []);
  t.like(parseDrainOptions('--delete-emptydir-data=true --force=false --timeout=90s'), {
    deleteEmptyDirData: true,
    force: false,
    timeoutSeconds: 90,
  });
  // kubectl: a negative grace period means the pod's own; --timeout=0 means no limit of its own.
  const pods = parseDrainOptions('--grace-period=-1 --timeout=0s');
  t.is(pods.gracePeriodSeconds, undefined);
  t.is(pods.timeoutSeconds, undefined);
  t.deepEqual(pods.ignored, []);
});

test('flags spotmax does not act on are reported, never silently dropped', (t) => {
  const o = parseDrainOptions(
    '--pod-selector=app=web --disable-eviction --grace-period=abc --ignore-daemonsets=false',
  );
  t.true(o.ignoreDaemonsets);
  t.deepEqual(o.ignored, [
    '--pod-selector=app=web',
    '--disable-eviction',
    '--grace-period=abc',
    '--ignore-daemonsets=false (DaemonSet pods are never evicted)',
  ]);
});
