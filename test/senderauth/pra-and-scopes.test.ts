// RFC 4407 §2 (the Purported Responsible Address) and RFC 4406 §3 (record selection by scope).
import t from 'tap';
import { parseHeaderBlock } from '../../src/mime/header-block.ts';
import { findPra } from '../../src/senderauth/pra.ts';
import { recordsForScope } from '../../src/senderauth/senderid.ts';

const pra = (block: string) => findPra(parseHeaderBlock(block));

t.test('PRA: Resent-Sender, then Resent-From, then Sender, then From', async (t) => {
  t.match(pra('From: a@from.test\r\nSender: b@sender.test\r\nResent-From: c@rfrom.test\r\nResent-Sender: d@rsender.test\r\n'),
    { ok: true, pra: { address: 'd@rsender.test', header: 'resent-sender' } }, 'step 1: the first Resent-Sender');
  t.match(pra('Resent-From: c@rfrom.test\r\nReceived: from x by y\r\nResent-Sender: d@old.test\r\nFrom: a@from.test\r\n'),
    { ok: true, pra: { address: 'c@rfrom.test', header: 'resent-from' } }, 'a Resent-Sender behind a newer Resent-From and a trace field belongs to an older resend');
  t.match(pra('From: a@from.test\r\nResent-From: c@rfrom.test\r\n'), { ok: true, pra: { header: 'resent-from' } }, 'step 2');
  t.match(pra('From: a@from.test\r\nSender: List <owner@list.test>\r\n'), { ok: true, pra: { address: 'owner@list.test', domain: 'list.test', header: 'sender' } }, 'step 3');
  t.match(pra('From: "Alice" <alice@from.test>\r\n'), { ok: true, pra: { address: 'alice@from.test', header: 'from' } }, 'step 4');
  t.match(pra('Sender:   \r\nFrom: a@from.test\r\n'), { ok: true, pra: { header: 'from' } }, 'empty headers are skipped');
});

t.test('PRA: ill-formed messages have none (RFC 4407 §2 steps 5 and 6)', async (t) => {
  t.match(pra('From: a@x.test\r\nFrom: b@y.test\r\n'), { ok: false, why: /more than one From/ });
  t.match(pra('Sender: a@x.test\r\nSender: b@y.test\r\nFrom: c@z.test\r\n'), { ok: false, why: /more than one Sender/ });
  t.match(pra('From: a@x.test, b@y.test\r\n'), { ok: false, why: /2 mailboxes/ });
  t.match(pra('From: nobody\r\n'), { ok: false, why: /no usable domain/ });
  t.match(pra('Subject: hi\r\n'), { ok: false, why: /no Resent-Sender, Resent-From, Sender or From/ });
});

t.test('records for a scope: spf2.0 by scope, v=spf1 only where no spf2.0 exists (RFC 4406 §3.4)', async (t) => {
  const both = [['v=spf1 -all'], ['spf2.0/pra ip4:192.0.2.1 -all'], ['spf2.0/mfrom,pra ', 'ip4:192.0.2.2 -all'], ['other text']];
  t.same(recordsForScope(both, 'pra'), [['other text'], ['v=spf1 ip4:192.0.2.1 -all'], ['v=spf1 ip4:192.0.2.2 -all']], 'both pra records, so mailauth reports the PermError for two records');
  t.same(recordsForScope([['v=spf1 -all'], ['spf2.0/mfrom ip4:192.0.2.1 -all']], 'pra'), [], 'an spf2.0 record for another scope hides v=spf1: no record for pra');
  t.same(recordsForScope([['v=spf1 ip4:192.0.2.9 -all']], 'pra'), [['v=spf1 ip4:192.0.2.9 -all']], 'v=spf1 serves as spf2.0/mfrom,pra');
  t.same(recordsForScope([['SPF2.0/PRA ~all']], 'pra'), [['v=spf1 ~all']], 'version and scope are case-insensitive');
  t.same(recordsForScope([['spf2.0/prax -all']], 'pra'), [], 'an unknown scope is not pra');
});
