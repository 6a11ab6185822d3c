// The config a flashed board seeds on first boot must still be accepted by the config schema.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { boardConfigJson } from '../../image/lib/board-defaults.ts';
import { ConfigStore } from '../../src/config/store.ts';

t.test('board defaults open in the config store with the standard mail ports on every interface', async (t) => {
  const dir = await mkdtemp(`${tmpdir()}/yubin-board-`);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(`${dir}/config.json`, boardConfigJson());
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  t.equal(store.get('listen.address'), '0.0.0.0');
  t.same([store.get('smtp.port'), store.get('smtp.submissionPort'), store.get('smtp.smtpsPort'), store.get('pop3.port'), store.get('pop3.tlsPort')],
    [25, 587, 465, 110, 995]);
  t.equal(store.get('console.device'), '/dev/yubin-console');
});

t.test('a board default the schema refuses names its key', async (t) => {
  t.throws(() => boardConfigJson({ 'smtp.port': 'twenty-five' }), /smtp\.port/);
});
