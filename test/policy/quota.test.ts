// One quota rule at RCPT, at the end of DATA and at delivery (src/policy/quota.ts): the same
// sizes give the same answer at every step, so a message that passes DATA is not bounced later
// for the same quota (before, one exactly at its quota passed DATA and failed at delivery).
import t from 'tap';
import { quotaFit } from '../../src/policy/quota.ts';
import { judgeRcpt, dataQuota, type RcptSite } from '../../src/policy/rcpt.ts';

const QUOTA = 10_000;
function site(usage: number): RcptSite {
  return {
    role: 'all-in-one',
    localDomains: ['yubin.test'],
    boardAddresses: ['127.0.0.1'],
    routes: (a) => (a === 'carol@yubin.test' ? [{ address: a, route: { kind: 'mailbox', user: 'carol' } }] : []),
    maxRecipients: 100,
    quotaOf: () => QUOTA,
    usageOf: async () => usage,
  };
}
const outside = { address: '192.0.2.9', trusted: false, authenticated: false, leased: false };

t.test('RCPT, DATA and delivery agree for every size and usage around the quota', async (t) => {
  for (const usage of [0, QUOTA - 1, QUOTA, QUOTA + 500]) {
    for (const size of [1, QUOTA - 1, QUOTA, QUOTA + 1]) {
      const fit = quotaFit(QUOTA, usage, size);
      const rcpt = await judgeRcpt('carol@yubin.test', outside, site(usage), 0, size);
      const data = await dataQuota(size, [{ address: 'carol@yubin.test', route: { kind: 'mailbox', user: 'carol' } }], site(usage));
      const expected = fit === 'fits' ? null : fit === 'full' ? 452 : 552;
      t.equal(rcpt.kind === 'refuse' ? rcpt.reply.code : null, expected, `RCPT SIZE=${size} usage=${usage}`);
      t.equal(data?.code ?? null, expected, `DATA ${size} bytes usage=${usage}`);
    }
  }
  t.equal(quotaFit(QUOTA, 0, QUOTA), 'fits', 'exactly at the quota fits');
  t.equal(quotaFit(QUOTA, QUOTA - 1, QUOTA), 'fits', 'a mailbox under its quota takes the next message whole');
  t.equal(quotaFit(0, 1e12, 1e12), 'fits', '0 is unlimited');
});

t.test('DATA is refused only when no copy can go anywhere', async (t) => {
  const mailbox = { address: 'carol@yubin.test', route: { kind: 'mailbox' as const, user: 'carol' } };
  const remote = { address: 'x@far.example', route: { kind: 'remote' as const, domain: 'far.example' } };
  t.equal(await dataQuota(QUOTA + 1, [mailbox, remote], site(0)), null, 'a remote copy still goes');
  t.match(await dataQuota(QUOTA + 1, [mailbox], site(0)), { code: 552, enhanced: '5.2.2' });
  t.match(await dataQuota(5, [mailbox], site(QUOTA)), { code: 452, enhanced: '4.2.2' });
});
