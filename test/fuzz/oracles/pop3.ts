// What a POP3 server may say, command by command (RFC 1939 §3, RFC 2449 §4 and §5): one status
// line per command line ("+OK"/"-ERR", or "+ " asking a SASL response, RFC 5034 §4), a dot-
// terminated, dot-stuffed block after "+OK" to a multi-line command. The server splits what we
// sent on LF (src/pop3d/lines.ts), so every session maps, random bytes included.

/** RFC 2449 §4: a response line is at most 512 octets with its CRLF. */
const MAX_STATUS = 512;

/** The command lines the server reads from these bytes (a last line without LF is never read). */
export function serverLines(sent: Buffer): string[] {
  const parts = sent.toString('latin1').split('\n');
  parts.pop();
  return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Complete status lines so far (the player waits on this). */
export function countStatus(out: Buffer): number {
  const m = out.toString('latin1').match(/(?<=^|\r\n)(\+OK|-ERR|\+ )[^\r\n]*\r\n/g);
  return m ? m.length : 0;
}

function multiLine(command: string): boolean {
  const space = command.indexOf(' ');
  const keyword = (space === -1 ? command : command.slice(0, space)).toUpperCase();
  const rest = space === -1 ? '' : command.slice(space + 1);
  if (keyword === 'CAPA' || keyword === 'RETR' || keyword === 'TOP') return true;
  return (keyword === 'LIST' || keyword === 'UIDL' || keyword === 'AUTH') && rest === '';
}

/** Problems in what the server said to these command lines. `mayEndEarly`: we reset the connection. */
export function checkPop3(commands: string[], out: Buffer, mayEndEarly: boolean): string[] {
  const text = out.toString('latin1');
  const lines = text.split('\r\n');
  const tail = lines.pop()!;
  const problems: string[] = [];
  if (tail !== '' && !mayEndEarly) problems.push(`output ends without CRLF: ${JSON.stringify(tail.slice(0, 120))}`);
  let i = 0;
  const status = (what: string): string | null => {
    const l = lines[i++];
    if (l === undefined) return null;
    if (!/^(\+OK|-ERR)( |$)|^\+ /.test(l)) problems.push(`${what}: not a status line: ${JSON.stringify(l.slice(0, 160))}`);
    if (l.length + 2 > MAX_STATUS) problems.push(`${what}: status line of ${l.length + 2} octets (RFC 2449 §4: 512)`);
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(l)) problems.push(`${what}: control character in ${JSON.stringify(l.slice(0, 160))}`);
    return l;
  };
  const greeting = status('greeting');
  if (greeting !== null && !greeting.startsWith('+OK')) problems.push(`greeting: ${greeting}`);
  for (let c = 0; c < commands.length && i < lines.length && problems.length === 0; c++) {
    const command = commands[c]!;
    const what = JSON.stringify(command.slice(0, 60));
    let reply = status(what);
    if (reply === null) break;
    // A SASL exchange: each "+ " takes the next line as the client's answer (RFC 5034 §4).
    while (reply.startsWith('+ ') && c + 1 < commands.length) {
      c++;
      reply = status(`${what} (SASL)`);
      if (reply === null) return problems;
    }
    if (reply.startsWith('+OK') && multiLine(command)) {
      for (;;) {
        const l = lines[i++];
        if (l === undefined) {
          if (!mayEndEarly) problems.push(`${what}: multi-line response without its "." line`);
          return problems;
        }
        if (l === '.') break;
        if (l.startsWith('.') && !l.startsWith('..')) problems.push(`${what}: data line starting with "." not dot-stuffed: ${JSON.stringify(l.slice(0, 80))}`);
      }
    }
    // After these the conversation is over, or no longer plain text.
    const keyword = command.split(' ')[0]!.toUpperCase();
    if ((keyword === 'STLS' && reply.startsWith('+OK')) || keyword === 'QUIT' || /closing/.test(reply)) return problems;
  }
  if (problems.length === 0 && i < lines.length) problems.push(`more responses than commands: ${JSON.stringify(lines.slice(i, i + 3))}`);
  return problems;
}
