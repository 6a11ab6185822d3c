// Dovecot as the POP3 peer: a private config on a loopback port, one user in a passwd-file with a
// plaintext password (APOP needs the secret in the clear, RFC 1939 §7), Maildir under the folder.
import { mkdir, writeFile, chmod, chown } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, spawnPeer, stopChild, waitForPort } from '../lib/system.ts';

export interface Pop3Peer {
  name: string;
  port: number;
  pid: number;
  startMs: number;
  /** The Maildir of the bench user (fill it before the first login). */
  maildir: string;
  stop(): Promise<void>;
}

export async function startDovecot(dir: string, user: string, secret: string): Promise<Pop3Peer> {
  await chmod(dir, 0o755);
  const home = join(dir, 'home', user);
  const maildir = join(home, 'Maildir');
  for (const d of ['tmp', 'new', 'cur']) await mkdir(join(maildir, d), { recursive: true });
  for (const d of [join(dir, 'home'), home, maildir, ...['tmp', 'new', 'cur'].map((d) => join(maildir, d))]) await chown(d, 65534, 65534);
  const port = await freePort();
  await writeFile(join(dir, 'passwd'), `${user}:{PLAIN}${secret}:65534:65534::${home}\n`);
  const conf = `
base_dir = ${join(dir, 'run')}
state_dir = ${join(dir, 'state')}
log_path = ${join(dir, 'dovecot.log')}
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain apop
first_valid_uid = 100
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${join(dir, 'passwd')}
}
userdb {
  driver = passwd-file
  args = ${join(dir, 'passwd')}
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener pop3s {
    port = 0
  }
  process_limit = 600
}
service pop3 {
  process_limit = 600
}
service anvil {
  client_limit = 2000
}
default_client_limit = 2000
mail_max_userip_connections = 1000
`;
  const file = join(dir, 'dovecot.conf');
  await writeFile(file, conf);
  const started = performance.now();
  // -F: stay in the foreground, so its processes are our process tree.
  const peer = spawnPeer('/usr/sbin/dovecot', ['-F', '-c', file]);
  await waitForPort(port).catch((err: Error) => {
    throw new Error(`${err.message}; dovecot: ${peer.log()}`);
  });
  return { name: 'Dovecot', port, pid: peer.child.pid!, startMs: performance.now() - started, maildir, stop: () => stopChild(peer.child) };
}
