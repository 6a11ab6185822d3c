// A real mosquitto on 127.0.0.1 for one test, and a watching client that records messages: the
// MQTT tests (test/telemetry/fixtures/mosquitto.ts) and the image's upgrade test use it.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { freePort } from './ports.ts';

// mosquitto takes a fixed port (see freePort); mqtt.test and tls-auth.test pick theirs here too.
export { freePort };

interface Teardown { teardown(fn: () => unknown): void }

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

export interface Broker {
  pid: number;
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startMosquitto(t: Teardown, port?: number, extraConf = ''): Promise<Broker> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-mosq-'));
  const p = port ?? (await freePort());
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${p} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n${extraConf}`);
  const proc: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGCONT'); // a test may have frozen it
      const gone = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  };
  t.teardown(async () => { await stop(); await rm(dir, { recursive: true, force: true }); });
  const deadline = Date.now() + 5000;
  while (!(await canConnect(p))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`mosquitto did not listen on ${p}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { pid: proc.pid!, port: p, url: `mqtt://127.0.0.1:${p}`, stop };
}

export interface Seen {
  topic: string;
  text: string;
  retain: boolean;
  at: number;
}

export interface Watcher {
  client: MqttClient;
  seen: Seen[];
  /** Resolves with the first message matching, waiting at most timeoutMs. */
  waitFor(match: (m: Seen) => boolean, timeoutMs?: number, what?: string): Promise<Seen>;
  on(topic: string): Seen[];
}

/** A dashboard stand-in: subscribes to `filters` and keeps every message. */
export async function watch(t: Teardown, url: string, filters: string[]): Promise<Watcher> {
  const client = connect(url, { clientId: `watch_${process.pid}_${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 200 });
  t.teardown(() => client.endAsync(true));
  const seen: Seen[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    seen.push({ topic, text: payload.toString('utf8'), retain: packet.retain, at: Date.now() });
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('watcher could not connect')), 5000);
    client.once('connect', () => {
      client.subscribe(filters, { qos: 1 }, (err) => { clearTimeout(timer); if (err) reject(err); else resolve(); });
    });
  });
  return {
    client,
    seen,
    on: (topic) => seen.filter((m) => m.topic === topic),
    waitFor(match, timeoutMs = 5000, what = 'message') {
      const found = seen.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = seen.find(match);
          if (!m) return;
          waiters.delete(check); clearTimeout(timer); resolve(m);
        };
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
        waiters.add(check);
      });
    },
  };
}
