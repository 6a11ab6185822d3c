// Where the firmware's log goes: stderr always (journald on the board, with priorities), and under
// `npm start` also DATA/log/yubin.log, rotated by size (log.file, log.fileMaxBytes, log.fileKeep).
// The level is read at every line, so `config set log.level debug` takes effect at once.
import { join } from 'node:path';
import { createLogger, type Logger, type LogSink } from '../src/log/logger.ts';
import { fileSink, type FileSink } from '../src/log/file-sink.ts';
import { stderrIsJournal, stderrSink } from '../src/log/stderr-sink.ts';
import type { ConfigStore } from '../src/config/store.ts';

export interface FirmwareLog {
  log: Logger;
  /** The log file (written while log.file says so). */
  file: FileSink;
  close(): void;
}

export function logFolder(dataDir: string): string {
  return join(dataDir, 'log');
}

export function firmwareLogger(store: ConfigStore, dataDir: string, env: NodeJS.ProcessEnv = process.env): FirmwareLog {
  const level = () => store.get('log.level');
  const journal = stderrIsJournal(env);
  const sinks: LogSink[] = [stderrSink(level, { journal })];
  const file = fileSink({ dir: logFolder(dataDir), minimum: level, maxBytes: () => store.get('log.fileMaxBytes'), keep: () => store.get('log.fileKeep') });
  // log.file is read at every line too: turned off, the file is closed; on, it is opened again.
  const wanted = () => {
    const mode = store.get('log.file');
    return mode === 'on' || (mode === 'auto' && !journal);
  };
  sinks.push({
    minimum: level,
    write(record) {
      if (wanted()) file.write(record);
      else file.close();
    },
  });
  return { log: createLogger(sinks), file, close: () => file.close() };
}
