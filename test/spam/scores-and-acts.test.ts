import t from 'tap';
import { spamStage } from '../../src/spam/stage.ts';
import { quarantineHook, Quarantine } from '../../src/quarantine/store.ts';
import { quarantineExpiryService } from '../../src/quarantine/service.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { contentContext, spooled, compose } from '../quarantine/fixture.ts';
import type { Context } from '../../src/context.ts';
import { Memo } from '../../src/pipeline/stage.ts';
import { AUTH_RESULTS } from '../../src/senderauth/facts.ts';
import { parseAuthResults } from '../../src/spam/rules.ts';

// The client 127.0.0.9 is on bl.test; spammer.example is on dbl.test.
async function listsContext(t: Parameters<typeof contentContext>[0]): Promise<Context> {
  const dns = await startDnsServer(t, {
    '9.0.0.127.bl.test': { A: ['127.0.0.2'] },
    '10.0.0.127.bl.test': { A: ['127.255.255.254'] },
    'spammer.example.dbl.test': { A: ['127.0.1.2'] },
  });
  const ctx = await contentContext(t);
  await ctx.store.set('dns.servers', `127.0.0.1:${dns.port}`);
  await ctx.store.set('spam.dnsbl', 'bl.test');
  await ctx.store.set('spam.rhsbl', 'dbl.test');
  await ctx.store.set('hostname', 'mx.yubin.test');
  return ctx;
}

/** Our own sender checks' results, as the senderauth stage leaves them in the memo. */
const ours = (results: string) => {
  const memo = new Memo();
  memo.set(AUTH_RESULTS, parseAuthResults([`Authentication-Results: mx.yubin.test; ${results}`], 'mx.yubin.test'));
  return memo;
};

t.test('tags good mail as not spam and shows the score and the rules', async (t) => {
  const ctx = await listsContext(t);
  const msg = await spooled(ctx, await compose({ text: 'Minutes of the meeting.' }), {
    client: { address: '127.0.0.20', hostname: '', helo: 'mail.outside.example', tls: true, user: null, trusted: false },
    memo: ours('spf=pass smtp.mailfrom=outside.example; dkim=pass header.d=outside.example; dmarc=pass header.from=outside.example'),
  });
  t.same(await spamStage(msg, ctx), { action: 'accept', headers: ['X-Spam-Status: No, score=-4 required=5 tests=SPF_PASS(-1),DKIM_PASS(-1),DMARC_PASS(-2)', 'X-Spam-Score: -4'] });
});

t.test('ignores Authentication-Results written by someone else', async (t) => {
  const ctx = await listsContext(t);
  const raw = Buffer.concat([Buffer.from('Authentication-Results: mx.yubin.test.evil; dmarc=pass\r\n'), await compose({ text: 'hi' })]);
  const msg = await spooled(ctx, raw, { client: { address: '127.0.0.20', hostname: '', helo: 'h', tls: false, user: null, trusted: false } });
  const verdict = await spamStage(msg, ctx);
  t.match(verdict.action === 'accept' ? verdict.headers?.[0] : '', /^X-Spam-Status: No, score=0 required=5 tests=none$/);
});

t.test('a DNSBL listing and a failed SPF tag the message', async (t) => {
  const ctx = await listsContext(t);
  const spamEvent = ctx.bus.once('spam.detected');
  const msg = await spooled(ctx, await compose({ text: 'Cheap watches' }), { memo: ours('spf=softfail smtp.mailfrom=outside.example') });
  const verdict = await spamStage(msg, ctx);
  t.same(verdict, { action: 'accept', headers: ['X-Spam-Status: Yes, score=6 required=5 tests=SPF_SOFTFAIL(1),DNSBL(bl.test)(5)', 'X-Spam-Score: 6', 'X-Spam-Flag: YES'] });
  t.same(await spamEvent, { queueId: msg.queueId, client: '127.0.0.9', from: 'sender@outside.example', score: 6, action: 'tag' });
});

t.test('a list\'s own error code (127.255.255.x) is not a listing', async (t) => {
  const ctx = await listsContext(t);
  const msg = await spooled(ctx, await compose({ text: 'hi' }), { client: { address: '127.0.0.10', hostname: '', helo: 'h', tls: false, user: null, trusted: false } });
  const verdict = await spamStage(msg, ctx);
  t.match(verdict.action === 'accept' ? verdict.headers?.[0] : '', /score=0 /);
});

t.test('rejects with 550 5.7.1 above spam.rejectScore', async (t) => {
  const ctx = await listsContext(t);
  const msg = await spooled(ctx, await compose({ from: '"service@bank.example" <x@spammer.example>', subject: 'ACT NOW!!! 100% FREE', text: 'http://bit.ly/abc' }), {
    mailFrom: 'x@spammer.example',
    memo: ours('spf=fail smtp.mailfrom=spammer.example; dmarc=fail header.from=spammer.example'),
  });
  const verdict = await spamStage(msg, ctx);
  t.equal(verdict.action, 'reject');
  if (verdict.action !== 'reject') return;
  t.equal(verdict.code, 550);
  t.equal(verdict.enhanced, '5.7.1');
  t.match(verdict.text, /^Message refused as spam \(score 2\d: SPF_FAIL\(3\),DMARC_FAIL\(5\),.*FROM_NAME_IS_OTHER_ADDRESS\(3\),URL_SHORTENER\(2\),DNSBL\(bl\.test\)\(5\),RHSBL\(spammer\.example in dbl\.test\)\(4\)\)$/);
});

t.test('spam held in quarantine expires by itself', async (t) => {
  const ctx = await listsContext(t);
  await ctx.store.set('quarantine.expiry', '2s');
  await ctx.store.set('quarantine.sweepInterval', '1s');
  const msg = await spooled(ctx, await compose({ text: 'Cheap watches' }), { memo: ours('spf=fail smtp.mailfrom=outside.example') });
  const verdict = await spamStage(msg, ctx);
  t.equal(verdict.action, 'quarantine');
  if (verdict.action !== 'quarantine') return;
  t.equal(verdict.reason, 'spam score 8 (SPF_FAIL(3),DNSBL(bl.test)(5))');
  await quarantineHook(ctx)(msg, verdict.reason, verdict.headers ?? [], 'spam');
  const quarantine = new Quarantine(ctx);
  const [held] = await quarantine.list();
  t.equal(held?.reason, verdict.reason);
  t.equal(held?.subject, 'Test');

  const service = quarantineExpiryService(ctx);
  await service.start();
  t.teardown(() => service.stop());
  const gone = ctx.bus.once('quarantine.deleted');
  const began = Date.now();
  const event = await Promise.race([gone, new Promise<null>((r) => setTimeout(() => r(null), 6000))]);
  t.same(event, { id: held?.id, queueId: msg.queueId, why: 'expired' }, 'deleted by the timer, no admin step');
  t.ok(Date.now() - began < 6000);
  t.same(await quarantine.list(), []);
});

t.test('mail our users send is not scored', async (t) => {
  const ctx = await listsContext(t);
  const msg = await spooled(ctx, await compose({ text: 'x' }), { direction: 'outbound' });
  t.same(await spamStage(msg, ctx), { action: 'accept' });
});
