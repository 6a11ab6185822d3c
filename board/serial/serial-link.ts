// The board's UART as a stream that comes back: open the device with serialport, and when it
// fails or goes away (a USB adapter unplugged, a driver reset) reopen it with growing back-off.
import { SerialPort } from 'serialport';
import type { Logger } from '../../src/log/logger.ts';

export interface SerialLinkOptions {
  path: string;
  baudRate: number;
  log: Logger;
  /** Called with each freshly opened port. */
  onOpen(port: SerialPort): void;
  minRetryMs?: number;
  maxRetryMs?: number;
}

export class SerialLink {
  readonly #options: SerialLinkOptions;
  #port: SerialPort | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs: number;
  #stopped = false;

  constructor(options: SerialLinkOptions) {
    this.#options = options;
    this.#retryMs = options.minRetryMs ?? 1000;
  }

  /** Try to open now; on failure keep retrying in the background. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#open();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  #open(): Promise<void> {
    const { path, baudRate, log } = this.#options;
    // 8N1 without flow control: what every Pi and x86 serial console expects.
    const port = new SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, autoOpen: false });
    return new Promise((resolve) => {
      port.open((err) => {
        if (err) {
          log.log('warn', 'serial console cannot open its device', { path, error: err.message, retryMs: this.#retryMs });
          this.#retry();
          resolve();
          return;
        }
        if (this.#stopped) {
          port.close();
          resolve();
          return;
        }
        this.#port = port;
        this.#retryMs = this.#options.minRetryMs ?? 1000;
        const lost = (why: string) => {
          if (this.#port !== port) return;
          this.#port = undefined;
          log.log('warn', 'serial console lost its device', { path, why });
          if (port.isOpen) port.close();
          this.#retry();
        };
        port.on('error', (e: Error) => lost(e.message));
        port.on('close', () => lost('closed'));
        log.log('info', 'serial console open', { path, baudRate });
        this.#options.onOpen(port);
        resolve();
      });
    });
  }

  #retry(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#open(), this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, this.#options.maxRetryMs ?? 30_000);
  }
}
