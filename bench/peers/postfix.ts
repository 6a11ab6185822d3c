// Postfix as a peer: its own master in a private config folder on a loopback port, with its own
// queue (cleanup fsyncs every queue file). `accept` mode holds every message in the queue
// (HOLD at end of data: accepted, never delivered); `maildir` mode delivers with virtual(8) into
// one Maildir, Postfix's local-delivery path for mailbox files it owns.
import { mkdir, writeFile, readdir, chown, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { run, freePort, spawnPeer, stopChild, waitForPort } from '../lib/system.ts';
import type { SmtpPeer } from './types.ts';

export interface PostfixOptions {
  dir: string;
  mode: 'accept' | 'maildir';
}

const SERVICES = `
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
local     unix  - n n - - local
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`;

export async function startPostfix(options: PostfixOptions): Promise<SmtpPeer & { startMs: number }> {
  const { dir } = options;
  const etc = join(dir, 'etc');
  const vmail = join(dir, 'vmail');
  await mkdir(etc, { recursive: true });
  // Postfix's workers run as postfix and nobody: they must be able to pass through the folder.
  await chmod(dir, 0o755);
  await mkdir(join(vmail, 'bench', 'new'), { recursive: true });
  await mkdir(join(vmail, 'bench', 'cur'), { recursive: true });
  await mkdir(join(vmail, 'bench', 'tmp'), { recursive: true });
  for (const d of ['', 'bench', 'bench/new', 'bench/cur', 'bench/tmp']) await chown(join(vmail, d), 65534, 65534);
  const port = await freePort();
  const main = [
    'compatibility_level = 3.6',
    `queue_directory = ${join(dir, 'queue')}`,
    `data_directory = ${join(dir, 'data')}`,
    'command_directory = /usr/sbin',
    'daemon_directory = /usr/lib/postfix/sbin',
    'shlib_directory = /usr/lib/postfix',
    'meta_directory = /etc/postfix',
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'myhostname = postfix.bench.test',
    'mydomain = bench.test',
    'mydestination =',
    'mynetworks = 127.0.0.0/8',
    'relay_domains =',
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    'virtual_mailbox_domains = bench.test',
    `virtual_mailbox_base = ${vmail}`,
    'virtual_mailbox_maps = static:bench/',
    'virtual_uid_maps = static:65534',
    'virtual_gid_maps = static:65534',
    // No reverse DNS: Yubin does none either (disableReverseLookup).
    'smtpd_peername_lookup = no',
    'default_process_limit = 700',
    'smtpd_client_connection_count_limit = 0',
    'smtpd_client_connection_rate_limit = 0',
    'smtpd_client_message_rate_limit = 0',
    'message_size_limit = 104857600',
    'virtual_mailbox_limit = 0',
    'biff = no',
    `maillog_file = ${join(dir, 'maillog')}`,
    `maillog_file_prefixes = ${dir}`,
    ...(options.mode === 'accept' ? ['smtpd_end_of_data_restrictions = check_client_access static:HOLD'] : []),
  ];
  await writeFile(join(etc, 'main.cf'), main.join('\n') + '\n');
  await writeFile(join(etc, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd\n${SERVICES}`);
  const env = { ...process.env, MAIL_CONFIG: etc };
  await makeQueue(join(dir, 'queue'), join(dir, 'data'));
  const started = performance.now();
  // master in the foreground (-d) is our child, so its workers are our process tree.
  const peer = spawnPeer('/usr/lib/postfix/sbin/master', ['-c', etc, '-d'], env);
  await waitForPort(port).catch((err: Error) => {
    throw new Error(`${err.message}; postfix: ${peer.log()}`);
  });
  const startMs = performance.now() - started;
  const queue = join(dir, 'queue');
  return {
    name: options.mode === 'accept' ? 'Postfix (queue)' : 'Postfix (Maildir)',
    port,
    pid: peer.child.pid!,
    startMs,
    async count() {
      if (options.mode === 'maildir') return (await readdir(join(vmail, 'bench', 'new'))).length;
      return countFiles(join(queue, 'hold'));
    },
    async stop() {
      await stopChild(peer.child);
    },
  };
}

async function countFiles(root: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }).catch(() => [])) if (e.isFile()) n++;
  return n;
}

/** The queue folders `postfix set-permissions` would make (owners and modes from postfix-files). */
async function makeQueue(queue: string, data: string): Promise<void> {
  const postfix = await ids('postfix');
  const postdrop = await ids('postdrop', 'group');
  await mkdir(join(queue, 'pid'), { recursive: true, mode: 0o755 });
  for (const d of ['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming', 'private', 'saved', 'trace']) {
    await mkdir(join(queue, d), { mode: 0o700 });
    await chown(join(queue, d), postfix.uid, postfix.gid);
  }
  await mkdir(join(queue, 'public'), { mode: 0o710 });
  await chown(join(queue, 'public'), postfix.uid, postdrop.gid);
  await mkdir(join(queue, 'maildrop'), { mode: 0o730 });
  await chown(join(queue, 'maildrop'), postfix.uid, postdrop.gid);
  await mkdir(data, { mode: 0o700 });
  await chown(data, postfix.uid, postfix.gid);
}

async function ids(name: string, db: 'passwd' | 'group' = 'passwd'): Promise<{ uid: number; gid: number }> {
  const line = (await run('getent', [db, name])).stdout.trim().split(':');
  if (line.length < 3) throw new Error(`no ${db} entry for ${name}: is postfix installed?`);
  return db === 'passwd' ? { uid: Number(line[2]), gid: Number(line[3]) } : { uid: -1, gid: Number(line[2]) };
}
