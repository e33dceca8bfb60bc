import { spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import test from 'ava';

// deploy/instance/spotmax-volume.sh, the in-instance helper, run by bash against a stand-in for the
// instance metadata service on 127.0.0.1 (IMDSv2 only: reads without a session token get 401, as with
// HttpTokens=required) and a fake /dev/disk/by-id tree; `mount` is a recording script, so no root is
// needed and nothing on this machine is mounted.

const SCRIPT = resolve('deploy/instance/spotmax-volume.sh');
const VOLUME = 'vol-0a1b2c3d4e5f60718';

interface Imds {
  url: string;
  server: Server;
  /** Tags in the metadata; undefined: instance metadata tags are off (the listing 404s). */
  tags: Record<string, string> | undefined;
  /** Tag reads before spotmax:volume appears (spotmax tags the member a little after boot). */
  hideTagFor: number;
  reads: { path: string; token: string | undefined }[];
  tokens: number;
}

async function startImds(): Promise<Imds> {
  const imds: Imds = { url: '', server: createServer(), tags: {}, hideTagFor: 0, reads: [], tokens: 0 };
  const issued = new Set<string>();
  imds.server.on('request', (req, res) => {
    const path = req.url ?? '';
    if (req.method === 'PUT' && path === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
      const token = `token-${++imds.tokens}`;
      issued.add(token);
      return void res.writeHead(200).end(token);
    }
    const token = req.headers['x-aws-ec2-metadata-token'] as string | undefined;
    imds.reads.push({ path, token });
    if (!token || !issued.has(token)) return void res.writeHead(401).end();
    const prefix = '/latest/meta-data/tags/instance';
    if (!path.startsWith(prefix) || imds.tags === undefined) return void res.writeHead(404).end();
    const key = decodeURIComponent(path.slice(prefix.length + 1));
    const visible = { ...imds.tags };
    if (imds.hideTagFor > 0 && key === 'spotmax:volume') {
      imds.hideTagFor--;
      delete visible['spotmax:volume'];
    }
    if (key === '') return void res.writeHead(200).end(Object.keys(visible).join('\n'));
    const value = visible[key];
    return value === undefined ? void res.writeHead(404).end() : void res.writeHead(200).end(value);
  });
  await new Promise<void>((ok) => imds.server.listen(0, '127.0.0.1', ok));
  const addr = imds.server.address();
  imds.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return imds;
}

/** A fake root: by-id links, a mounts file, and a `mount` that records its arguments and "mounts". */
function fakeRoot() {
  const root = mkdtempSync(join(tmpdir(), 'spotmax-volume-'));
  const byId = join(root, 'dev/disk/by-id');
  mkdirSync(byId, { recursive: true });
  const nvme = join(root, 'dev/nvme1n1');
  writeFileSync(nvme, '');
  const mounts = join(root, 'mounts');
  writeFileSync(mounts, 'proc /proc proc rw 0 0\n/dev/nvme0n1p1 / xfs rw 0 0\n');
  const calls = join(root, 'mount-calls');
  const mount = join(root, 'fake-mount');
  writeFileSync(
    mount,
    `#!/usr/bin/env bash\necho "$*" >> '${calls}'\necho "\${@: -2:1} \${@: -1} ext4 rw 0 0" >> '${mounts}'\n`,
  );
  chmodSync(mount, 0o755);
  return {
    root,
    byId,
    nvme,
    mounts,
    mount,
    calls: () => {
      try {
        return readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    /** The udev link EBS NVMe volumes get, named after the volume id without its dash. */
    link: (volumeId = VOLUME) =>
      symlinkSync(nvme, join(byId, `nvme-Amazon_Elastic_Block_Store_${volumeId.replace('-', '')}`)),
  };
}

function run(
  imds: Imds,
  fs: ReturnType<typeof fakeRoot>,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn('bash', [SCRIPT], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        SPOTMAX_IMDS: imds.url,
        SPOTMAX_BY_ID_DIR: fs.byId,
        SPOTMAX_MOUNTS_FILE: fs.mounts,
        SPOTMAX_MOUNT_CMD: fs.mount,
        SPOTMAX_MOUNT_POINT: join(fs.root, 'data'),
        SPOTMAX_POLL_SECONDS: '0.1',
        SPOTMAX_WAIT_SECONDS: '20',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => done({ code, stderr }));
  });
}

test.before(() => {
  for (const tool of ['bash', 'curl', 'readlink']) {
    const probe = spawn('sh', ['-c', `command -v ${tool}`]);
    probe.on('close', (code) => {
      if (code !== 0)
        throw new Error(`${tool} is required to test deploy/instance (apt-get install ${tool})`);
    });
  }
});

test('waits for the spotmax:volume tag and the NVMe device, mounts it once, and is idempotent', async (t) => {
  const imds = await startImds();
  t.teardown(() => imds.server.close());
  const fs = fakeRoot();
  imds.tags = { Name: 'web', 'spotmax:group': 'web', 'spotmax:volume': VOLUME };
  imds.hideTagFor = 3;
  // The volume reaches the instance a moment after the tag (AttachVolume is asynchronous).
  const late = setTimeout(() => fs.link(), 700);
  t.teardown(() => clearTimeout(late));
  const first = await run(imds, fs);
  t.is(first.code, 0, first.stderr);
  t.deepEqual(fs.calls(), [`-o defaults,noatime ${fs.nvme} ${join(fs.root, 'data')}`]);
  t.regex(first.stderr, new RegExp(`mounted ${VOLUME} \\(${fs.nvme}\\) at`));
  t.true(
    imds.reads.every((r) => r.token?.startsWith('token-')),
    'IMDSv2: every read carries a token',
  );
  t.true(imds.reads.filter((r) => r.path.endsWith('spotmax:volume')).length >= 4, 'it waited for the tag');

  // A reboot (the unit runs again): already mounted, nothing more.
  const again = await run(imds, fs);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /already mounted/);
  t.is(fs.calls().length, 1);
});

test('refuses to mount over another device (the template volume mounted by an old fstab line)', async (t) => {
  const imds = await startImds();
  t.teardown(() => imds.server.close());
  const fs = fakeRoot();
  imds.tags = { 'spotmax:volume': VOLUME };
  fs.link();
  appendFileSync(fs.mounts, `/dev/nvme2n1 ${join(fs.root, 'data')} ext4 rw 0 0\n`);
  const r = await run(imds, fs);
  t.is(r.code, 3);
  t.regex(r.stderr, /is mounted from \/dev\/nvme2n1, not from vol-0a1b2c3d4e5f60718/);
  t.deepEqual(fs.calls(), []);
});

test('says how to fix it: metadata tags off, no tag in time, a bad tag value, a device that never comes', async (t) => {
  const imds = await startImds();
  t.teardown(() => imds.server.close());
  const fs = fakeRoot();
  imds.tags = undefined;
  const off = await run(imds, fs);
  t.is(off.code, 5);
  t.regex(off.stderr, /InstanceMetadataTags=enabled/);

  imds.tags = { Name: 'web' };
  const none = await run(imds, fs, { SPOTMAX_WAIT_SECONDS: '1' });
  t.is(none.code, 4);
  t.regex(none.stderr, /no spotmax:volume tag on this instance after 1s/);

  imds.tags = { 'spotmax:volume': 'vol-../../etc' };
  const bad = await run(imds, fs);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /not a volume id/);

  imds.tags = { 'spotmax:volume': VOLUME };
  const missing = await run(imds, fs, { SPOTMAX_WAIT_SECONDS: '1' });
  t.is(missing.code, 4);
  t.regex(
    missing.stderr,
    /its device did not appear after 1s \(looked for .*nvme-Amazon_Elastic_Block_Store_vol0a1b2c3d4e5f60718\)/,
  );

  const relative = await run(imds, fs, { SPOTMAX_MOUNT_POINT: 'data' });
  t.is(relative.code, 2);
  t.deepEqual(fs.calls(), []);
});

test('Xen instances: the device name it was attached as, when no NVMe link exists', async (t) => {
  const imds = await startImds();
  t.teardown(() => imds.server.close());
  const fs = fakeRoot();
  imds.tags = { 'spotmax:volume': VOLUME };
  const xvdz = join(fs.root, 'dev/xvdz');
  writeFileSync(xvdz, '');
  const r = await run(imds, fs, { SPOTMAX_XEN_DEVICE: xvdz, SPOTMAX_FSTYPE: 'xfs' });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(fs.calls(), [`-o defaults,noatime -t xfs ${xvdz} ${join(fs.root, 'data')}`]);
});

test('the systemd unit runs the installed script once per boot, after the network, with a timeout above the wait', (t) => {
  const unit = readFileSync('deploy/instance/spotmax-volume.service', 'utf8');
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
  t.is(value('Type'), 'oneshot');
  t.is(value('RemainAfterExit'), 'yes');
  t.is(value('ExecStart'), '/usr/local/sbin/spotmax-volume');
  t.is(value('EnvironmentFile'), '-/etc/spotmax/volume.env');
  t.is(value('WantedBy'), 'multi-user.target');
  t.true(value('After')?.includes('network-online.target'));
  const script = readFileSync(SCRIPT, 'utf8');
  const wait = Number(/WAIT_SECONDS="\$\{SPOTMAX_WAIT_SECONDS:-(\d+)\}"/.exec(script)?.[1]);
  t.true(Number(value('TimeoutStartSec')) > wait, 'systemd must not stop the script while it still waits');
});
