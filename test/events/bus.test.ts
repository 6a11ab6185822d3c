// The event bus guards each listener: one that throws (or whose promise rejects) is logged with
// its owner and never throws into the emitter, and the listeners after it still run.
import t from 'tap';
import { EventBus, type ListenerFailure } from '../../src/events/bus.ts';
import type { Logger } from '../../src/log/logger.ts';

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, message, fields) => void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`) };
}

const received = { queueId: 'Q1', client: '192.0.2.1', from: 'a@example.com', rcpts: ['b@example.com'], size: 10, listener: 'mta' };

t.test('a throwing listener is logged with its owner; the emitter and the other listeners go on', async (t) => {
  const log = recordingLog();
  const bus = new EventBus({ log });
  const failures: ListenerFailure[] = [];
  bus.onListenerFailure((f) => failures.push(f));
  const seen: string[] = [];
  bus.on('message.received', () => seen.push('first'));
  bus.for('leds').on('message.received', () => {
    throw new Error('LED write failed');
  });
  bus.on('message.received', () => seen.push('third'));
  t.doesNotThrow(() => bus.emit('message.received', received), 'emit does not throw into the mail station');
  t.same(seen, ['first', 'third'], 'the listeners before and after it ran');
  t.equal(failures.length, 1);
  t.match(failures[0], { owner: 'leds', event: 'message.received', error: { message: 'LED write failed' } });
  t.match(log.lines, [/^error event listener failed .*"owner":"leds".*"event":"message.received".*LED write failed/]);
});

t.test('a listener whose promise rejects is reported the same way', async (t) => {
  const log = recordingLog();
  const bus = new EventBus({ log });
  const failure = new Promise<ListenerFailure>((resolve) => bus.onListenerFailure(resolve));
  bus.for('mqtt').on('alert.raised', async () => {
    throw new Error('broker refused');
  });
  bus.emit('alert.raised', { id: '1', kind: 'virus', severity: 'critical', source: '192.0.2.1', count: 1, text: 'x', time: new Date().toISOString() });
  t.match(await failure, { owner: 'mqtt', event: 'alert.raised', error: { message: 'broker refused' } });
});

t.test('unsubscribing removes the guarded listener', async (t) => {
  const bus = new EventBus({ log: recordingLog() });
  let n = 0;
  const off = bus.for('x').on('message.received', () => void n++);
  bus.emit('message.received', received);
  off();
  bus.emit('message.received', received);
  t.equal(n, 1);
});
