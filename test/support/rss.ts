// A process's resident memory, as the kernel counts it (for the memory bounds the abuse tests pin).
import { readFile } from 'node:fs/promises';

/** VmRSS of `pid` in KiB; 0 when the process is gone. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}
