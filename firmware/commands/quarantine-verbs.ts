// `yubin quarantine list|show|release|delete`: the admin's view of held mail. Output goes through
// `print` so the same command serves the CLI and the serial console.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Context } from '../../src/context.ts';
import { Quarantine, QuarantineError, type Reinject } from '../../src/quarantine/store.ts';

const USAGE = 'usage: yubin quarantine list | show ID | release ID | delete ID';

/** Returns the exit status: 0 done, 1 failed, 2 bad usage. */
export async function quarantineCommand(args: readonly string[], context: Context, reinject: Reinject, print: (line: string) => void): Promise<number> {
  const quarantine = new Quarantine(context);
  const [verb, id, extra] = args;
  if (verb === undefined || (verb !== 'list' && (id === undefined || extra !== undefined))) {
    print(USAGE);
    return 2;
  }
  try {
    switch (verb) {
      case 'list': {
        const held = await quarantine.list();
        if (held.length === 0) print('quarantine is empty');
        for (const h of held) {
          print(`${h.id}  ${h.heldAt.slice(0, 16).replace('T', ' ')}  expires ${h.expiresAt.slice(0, 10)}  ${h.size} bytes  from <${h.mailFrom}>  "${h.subject}"  ${h.reason}`);
        }
        return 0;
      }
      case 'show': {
        const { path, held } = await quarantine.show(id!);
        for (const [k, v] of Object.entries(held)) print(`${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
        print('');
        // The header block only: the body may be large and is not for a terminal.
        const lines = createInterface({ input: createReadStream(path, { end: 64 * 1024 }), crlfDelay: Infinity });
        for await (const line of lines) {
          if (line === '') break;
          print(line);
        }
        lines.close();
        return 0;
      }
      case 'release': {
        const held = await quarantine.release(id!, reinject);
        print(`released ${held.id} to ${held.rcpts.join(', ')}`);
        return 0;
      }
      case 'delete': {
        await quarantine.delete(id!);
        print(`deleted ${id}`);
        return 0;
      }
      default:
        print(USAGE);
        return 2;
    }
  } catch (err) {
    if (err instanceof QuarantineError) {
      print(`quarantine: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
