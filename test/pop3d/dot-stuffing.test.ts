import t from 'tap';
import { DotStuffer } from '../../src/pop3d/stuffing.ts';

/** The response body for a message arriving in these chunks; stops feeding once TOP is done. */
function stuff(chunks: string[], bodyLines: number | null = null): string {
  const stuffer = new DotStuffer(bodyLines);
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (stuffer.done) break;
    stuffer.push(Buffer.from(c, 'latin1'), out);
  }
  stuffer.end(out);
  return Buffer.concat(out).toString('latin1');
}

/** RFC 1939 §3 said plainly, on the whole message at once: the reference the chunked form must match. */
function reference(message: string): string {
  const stuffed = message.replace(/(^|\n)\./g, '$1..');
  return `${stuffed}${message === '' || message.endsWith('\n') ? '' : '\r\n'}.\r\n`;
}

/** Every way to cut `text` into two chunks, and into three at a few places. */
function cuts(text: string): string[][] {
  const out: string[][] = [[text]];
  for (let i = 0; i <= text.length; i++) {
    out.push([text.slice(0, i), text.slice(i)]);
    const j = Math.floor((i + text.length) / 2);
    out.push([text.slice(0, i), text.slice(i, j), text.slice(j)]);
  }
  return out;
}

t.test('doubles a leading dot on every line, including the first, and terminates', async (t) => {
  t.equal(stuff(['.a\r\nb\r\n..c\r\n']), '..a\r\nb\r\n...c\r\n.\r\n');
});

t.test('finds line starts split across chunk boundaries', async (t) => {
  t.equal(stuff(['a\r\n', '.b\r', '\n', '.', 'c\r\n']), 'a\r\n..b\r\n..c\r\n.\r\n');
  t.equal(stuff(['a\r', '\n.x\r\n']), 'a\r\n..x\r\n.\r\n');
  t.equal(stuff(['a\r\n.', '.b\r\n']), 'a\r\n...b\r\n.\r\n', 'a dot ending one chunk, another starting the next');
  t.equal(stuff(['a.', 'b\r\n']), 'a.b\r\n.\r\n', 'a dot inside a line is left alone across a boundary');
  t.equal(stuff(['a\r', '\n', '.\r\n']), 'a\r\n..\r\n.\r\n', 'CRLF split from the dot line after it');
});

t.test('adds CRLF before the terminator when the file lacks one', async (t) => {
  t.equal(stuff(['a\r\nlast']), 'a\r\nlast\r\n.\r\n');
  t.equal(stuff(['a\r\n', 'last']), 'a\r\nlast\r\n.\r\n');
  t.equal(stuff(['a\r\n.']), 'a\r\n..\r\n.\r\n', 'a last line "." without CRLF is stuffed, not taken for the terminator');
  t.equal(stuff(['a\r']), 'a\r\r\n.\r\n', 'a last line ending in a bare CR still gets its CRLF');
  t.equal(stuff([]), '.\r\n', 'empty message');
  t.equal(stuff(['', '']), '.\r\n', 'empty chunks');
});

t.test('any chunking gives the same bytes as stuffing the whole message at once', async (t) => {
  const messages = [
    'H: x\r\n\r\n.\r\n..\r\n.a\r\nb.\r\n.',
    '.\r\n.\r\n.\r\n',
    '\r\n.x\r\n\r\n.',
    'a\nb\n.c\n',
    'x',
  ];
  for (const m of messages) {
    const want = reference(m);
    const wrong = cuts(m).filter((chunks) => stuff(chunks) !== want);
    t.same(wrong, [], `${JSON.stringify(m)}: every cut`);
  }
});

t.test('TOP stops after the header, the blank line and n body lines', async (t) => {
  const msg = ['H: 1\r\nH', ': 2\r\n\r', '\nb1\r\n.b2\r\nb3\r\n'];
  t.equal(stuff(msg, 0), 'H: 1\r\nH: 2\r\n\r\n.\r\n');
  t.equal(stuff(msg, 2), 'H: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\n.\r\n');
  t.equal(stuff(msg, 99), 'H: 1\r\nH: 2\r\n\r\nb1\r\n..b2\r\nb3\r\n.\r\n', 'fewer lines than asked: the whole body');
  t.equal(stuff(['H: 1\r\n\r\nb1'], 5), 'H: 1\r\n\r\nb1\r\n.\r\n', 'a body without a final CRLF');
  t.equal(stuff(['H: 1\r\nX: \r\r\n\r\nb1\r\n'], 0), 'H: 1\r\nX: \r\r\n\r\n.\r\n', 'a header line holding a CR is not the blank line');
});

t.test('TOP gives the same bytes however the message is cut', async (t) => {
  const m = 'H: 1\r\nX: .\r\n\r\n.b1\r\nb2\r\n\r\n.b4\r\nb5';
  for (const n of [0, 1, 2, 3, 4, 9]) {
    const want = stuff([m], n);
    const wrong = cuts(m).filter((chunks) => stuff(chunks, n) !== want);
    t.same(wrong, [], `TOP ${n}: every cut`);
  }
});

t.test('TOP says it is done once it has enough, so the file is read no further', async (t) => {
  const stuffer = new DotStuffer(3);
  const out: Buffer[] = [];
  stuffer.push(Buffer.from('H: x\r\n\r\n'), out);
  let pulled = 0;
  while (!stuffer.done && pulled < 100) {
    pulled += 1;
    stuffer.push(Buffer.from('line\r\n'), out);
  }
  stuffer.end(out);
  t.equal(Buffer.concat(out).toString(), 'H: x\r\n\r\nline\r\nline\r\nline\r\n.\r\n');
  t.equal(pulled, 3, 'no chunk past the third body line');
});
