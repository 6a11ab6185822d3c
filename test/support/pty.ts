// A serial line for tests: socat makes a linked pair of raw ptys; the board opens one end (as
// console.device), the test types on the other like an admin's terminal.
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { SerialPort } from 'serialport';

/** Start socat with two raw ptys; resolves their /dev/pts paths. */
export async function ptyPair(t: Test): Promise<[string, string]> {
  const socat = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => void socat.kill());
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat gave no ptys: ${text}`)), 5000);
    socat.stderr.on('data', (d: Buffer) => {
      text += d.toString();
      const paths = [...text.matchAll(/PTY is (\/dev\/pts\/\d+)/g)].map((m) => m[1]!);
      if (paths.length === 2 && /starting data transfer loop/.test(text)) {
        clearTimeout(timer);
        resolve([paths[0]!, paths[1]!]);
      }
    });
  });
}

/** The admin's terminal on the far end of the pty pair. */
export async function terminal(t: Test, path: string) {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  t.teardown(() => new Promise<void>((res) => (port.isOpen ? port.close(() => res()) : res())));
  let screen = '';
  let seen = 0;
  port.on('data', (d: Buffer) => (screen += d.toString('utf8')));
  return {
    type: (text: string) => port.write(text),
    /** Wait until the screen shows `pattern` after what was already awaited; returns the new text. */
    async expect(pattern: RegExp | string, ms = 15000): Promise<string> {
      const deadline = Date.now() + ms;
      for (;;) {
        const fresh = screen.slice(seen);
        const m = typeof pattern === 'string' ? (fresh.includes(pattern) ? { index: fresh.indexOf(pattern), len: pattern.length } : null) : (() => {
          const r = pattern.exec(fresh);
          return r ? { index: r.index, len: r[0].length } : null;
        })();
        if (m) {
          seen += m.index + m.len;
          return fresh.slice(0, m.index + m.len);
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; screen since last match: ${JSON.stringify(fresh)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    get screen() {
      return screen;
    },
  };
}

