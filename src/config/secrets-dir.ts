// DATA/secrets: the users' APOP secrets (src/accounts/users.ts) and the hold key that signs
// cancel addresses (src/hold/token.ts). Private like every data folder: 0700.
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const secretsDir = (dataDir: string): string => join(dataDir, 'secrets');

/**
 * Make DATA/secrets 0700 if it is not: firmware before this one created it 0755 (writeFileDurable
 * made missing folders with the default mode). Returns the mode it had when it was changed.
 */
export async function tightenSecretsDir(dataDir: string): Promise<number | undefined> {
  const dir = secretsDir(dataDir);
  let mode: number;
  try {
    mode = (await stat(dir)).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (mode === 0o700) return undefined;
  await chmod(dir, 0o700);
  return mode;
}
