import t from 'tap';
import { dotStuff } from '../../src/pop3d/stuffing.ts';

async function stuff(chunks: string[], bodyLines: number | null = null): Promise<string> {
  async function* source() {
    for (const c of chunks) yield Buffer.from(c);
  }
  const out: Buffer[] = [];
  for await (const b of dotStuff(source(), bodyLines)) out.push(b);
  return Buffer.concat(out).toString('latin1');
}

t.test('doubles a leading dot on every line, including the first, and terminates', async (t) => {
  t.equal(await stuff(['.a\r\nb\r\n..c\r\n']), '..a\r\nb\r\n...c\r\n.\r\n');
});

t.test('finds line starts split across chunk boundaries', async (t) => {
  t.equal(await stuff(['a\r\n', '.b\r', '\n', '.', 'c\r\n']), 'a\r\n..b\r\n..c\r\n.\r\n');
  t.equal(await stuff(['a\r', '\n.x\r\n']), 'a\r\n..x\r\n.\r\n');
});

t.test('adds CRLF before the terminator when the file lacks one', async (t) => {
  t.equal(await stuff(['a\r\nlast']), 'a\r\nlast\r\n.\r\n');
  t.equal(await stuff([]), '.\r\n', 'empty message');
});

t.test('TOP stops after the header, the blank line and n body lines', async (t) => {
  const msg = ['H: 1\r\nH', ': 2\r\n\r', '\nb1\r\n.b2\r\nb3\r\n'];
  t.equal(await stuff(msg, 0), 'H: 1\r\nH: 2\r\n\r\n.\r\n');
  t.equal(await stuff(msg, 2), 'H: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\n.\r\n');
  t.equal(await stuff(msg, 99), 'H: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\nb3\r\n.\r\n', 'fewer lines than asked: the whole body');
});

t.test('TOP stops reading the source once it has enough', async (t) => {
  let pulled = 0;
  async function* endless() {
    yield Buffer.from('H: x\r\n\r\n');
    for (;;) {
      pulled += 1;
      yield Buffer.from('line\r\n');
    }
  }
  const out: Buffer[] = [];
  for await (const b of dotStuff(endless(), 3)) out.push(b);
  t.equal(Buffer.concat(out).toString(), 'H: x\r\n\r\nline\r\nline\r\nline\r\n.\r\n');
  t.ok(pulled <= 4, `read ${pulled} chunks past the header`);
});
