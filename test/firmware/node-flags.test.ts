// `npm start` cannot import firmware/node-flags.ts, so package.json spells the list out: this keeps
// the two from drifting apart (the image's unit and the tests read the list itself).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo } from '../support/firmware.ts';
import { NODE_FLAGS, RUNTIME_ENV } from '../../firmware/node-flags.ts';

t.test('npm start runs the firmware with NODE_FLAGS and RUNTIME_ENV', async (t) => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const env = Object.entries(RUNTIME_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
  t.equal(pkg.scripts.start, `${env} node ${NODE_FLAGS.join(' ')} firmware/yubin.ts start`);
});
