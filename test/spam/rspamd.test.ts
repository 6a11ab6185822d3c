import t from 'tap';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { askRspamd } from '../../src/spam/rspamd.ts';
import { contentContext, spooled, compose } from '../quarantine/fixture.ts';

t.test('asks rspamd over HTTP with the message and its envelope, and reads the score and action', async (t) => {
  let seen: { url: string; headers: IncomingHttpHeaders; body: string } | undefined;
  const rspamd = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ score: 6.5, action: 'add header', symbols: {} }));
    });
  });
  await new Promise<void>((r) => rspamd.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => rspamd.close());
  const ctx = await contentContext(t);
  const msg = await spooled(ctx, await compose({ text: 'Cheap watches.' }), {
    client: { address: '192.0.2.7', hostname: '', helo: 'mail.outside.example', tls: false, user: null, trusted: false },
  });
  const answer = await askRspamd(`http://127.0.0.1:${(rspamd.address() as AddressInfo).port}`, msg, 5000);
  t.same(answer, { score: 6.5, action: 'add header' });
  t.equal(seen?.url, '/checkv2');
  t.equal(seen?.headers['ip'], '192.0.2.7');
  t.equal(seen?.headers['helo'], 'mail.outside.example');
  t.match(seen?.body, /Cheap watches\./);
});
