// The greeting pause as policy: strangers on port 25 wait smtp.greetingDelay and are refused if
// they talk first; trusted clients and the submission port are greeted at once.
import t from 'tap';
import { startInProcess } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';

const DELAY = 300;
const fw = await startInProcess(t, { trustedNetworks: ['127.0.0.1/32'], 'smtp.greetingDelay': DELAY });
const mta = fw.smtp.ports().mta!;
const submission = fw.smtp.ports().submission!;
const early: Array<{ client: string; listener: string }> = [];
fw.ctx.bus.on('smtp.early_talker', (e) => early.push(e));

/** Milliseconds from connect to the 220 greeting, and the greeting itself. */
async function greeting(port: number, from: string): Promise<{ ms: number; text: string; client: RawSmtp }> {
  const started = performance.now();
  const client = await RawSmtp.open(port, from);
  t.teardown(() => client.close());
  const text = await client.reply(5_000);
  return { ms: performance.now() - started, text, client };
}

t.test('an outside client on the MTA port waits smtp.greetingDelay for the greeting', async (t) => {
  const g = await greeting(mta, '127.0.0.2');
  t.match(g.text, /^220 mx\.yubin\.test ESMTP/);
  t.ok(g.ms >= DELAY - 5, `greeted after ${g.ms.toFixed(0)} ms`);
  t.match(await g.client.command('EHLO outside.example'), /^250-/);
});

t.test('a trusted client on the MTA port is greeted at once', async (t) => {
  const g = await greeting(mta, '127.0.0.1');
  t.match(g.text, /^220 /);
  t.ok(g.ms < DELAY / 2, `greeted after ${g.ms.toFixed(0)} ms`);
});

t.test('the submission port greets an outside client at once', async (t) => {
  const g = await greeting(submission, '127.0.0.2');
  t.match(g.text, /^220 /);
  t.ok(g.ms < DELAY / 2, `greeted after ${g.ms.toFixed(0)} ms`);
});

t.test('an outside client that talks before the greeting gets 554 5.7.1, is cut off and counted', async (t) => {
  const before = early.length;
  const client = await RawSmtp.open(mta, '127.0.0.3');
  t.teardown(() => client.close());
  client.send('EHLO robot.example\r\nMAIL FROM:<spam@robot.example>\r\n');
  const reply = await client.reply(5_000);
  t.match(reply, /^554 5\.7\.1 Talking before the greeting is refused/);
  t.notMatch(reply, /^220/m, 'never greeted');
  await new Promise<void>((resolve) => (client.socket.destroyed || client.socket.readableEnded ? resolve() : client.socket.once('end', () => resolve())));
  t.equal(await client.reply(1_000), '', 'nothing more is said: the pipelined MAIL is not answered');
  t.same(early.slice(before), [{ client: '127.0.0.3', listener: 'mta' }]);
});

t.test('with smtp.greetingDelay 0 an outside client is greeted at once', async (t) => {
  fw.ctx.store.stageValue('smtp.greetingDelay', 0);
  await fw.ctx.store.commit();
  t.teardown(async () => {
    fw.ctx.store.stageValue('smtp.greetingDelay', DELAY);
    await fw.ctx.store.commit();
  });
  const g = await greeting(mta, '127.0.0.2');
  t.match(g.text, /^220 /);
  t.ok(g.ms < DELAY / 2, `greeted after ${g.ms.toFixed(0)} ms`);
});
