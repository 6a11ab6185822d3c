// test/prepare.sh must install every program the suite and the firmware under test run: on a fresh
// Debian machine a missing one turns tests red that pass here (qpdf, zip and gpg were used but not
// listed; swaks --tls needs libnet-ssleay-perl and gpg needs gpg-agent, which they only recommend). The programs are read
// from the sources (test/support/spawned-tools.ts), each is mapped to the Debian package that
// ships it on this machine (dpkg -S), and that package must be in prepare's list, be pulled in by
// one that is (Depends, Pre-Depends: prepare installs without recommends), or be in every Debian
// root (Essential or required). Adding a package to prepare's list is all a new peer needs.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { scanRepo, scanSources, type Need } from '../support/spawned-tools.ts';

const repo = resolve(import.meta.dirname, '../..');
/** What the suite is: its tests and helpers, and the firmware they start (and what those import). */
const roots = ['test', 'src', 'firmware', 'board'];

/** Programs that come with Node, not from Debian. */
const fromNode: Record<string, string> = {
  node: 'the Node 24 of node_modules/.bin (npm ci)',
  npm: 'comes with the machine\'s Node 20',
  npx: 'comes with the machine\'s Node 20',
  'node-gyp': 'an npm package in node_modules (what it builds with is checked: python3, make, g++)',
};
/** Programs the sources can run but the suite never does, and why. */
const notRunByTheSuite: Record<string, string> = {
  'systemd-notify': 'run only under systemd (NOTIFY_SOCKET set): the image\'s unit, never a test',
  'qemu-system-x86_64': 'the boot test\'s (npm run image:test: .ci/run installs its packages); test/image/kvm-fallback runs a stand-in',
  mkimage: 'the arm64 image build\'s (npm run image:build:arm64; image/README.md lists u-boot-tools); test/lifecycle/upgrade reads only the text of boot.scr, never runs it',
};

const searchPath = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function executable(path: string): boolean {
  try {
    return statSync(path).isFile() && (statSync(path).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The file a need is: a program on Debian's PATH (not /usr/local, not a pyenv shim), a module file. */
function fileOf(need: Need): string | undefined {
  if (need.kind === 'program') {
    if (need.name.startsWith('/')) return executable(need.name) ? need.name : undefined;
    return searchPath.map((d) => join(d, need.name)).find(executable);
  }
  if (need.kind === 'perl') {
    const r = spawnSync('/usr/bin/perl', ['-e', `require ${need.module}; print $INC{"${need.module.replace(/::/g, '/')}.pm"}`], { encoding: 'utf8' });
    return r.status === 0 && r.stdout ? r.stdout : undefined;
  }
  // Built-in modules live in the interpreter itself.
  const r = spawnSync('/usr/bin/python3', ['-c', 'import importlib.util, sys\ns = importlib.util.find_spec(sys.argv[1])\nprint(s.origin if s else "")', need.module], { encoding: 'utf8' });
  const origin = r.status === 0 ? r.stdout.trim() : '';
  return origin === 'built-in' || origin === 'frozen' ? '/usr/bin/python3' : origin || undefined;
}

/** The same file by its other names: the /usr merge (/bin ↔ /usr/bin, …) and symlinks resolved. */
function aliases(path: string): string[] {
  const swap = (p: string) => (/^\/usr\/(s?bin|lib)\//.test(p) ? p.slice(4) : /^\/(s?bin|lib)\//.test(p) ? `/usr${p}` : p);
  const real = existsSync(path) ? realpathSync(path) : path;
  return [...new Set([path, swap(path), real, swap(real)])];
}

/** Path → owning package, for every path dpkg knows (one dpkg-query for all). */
function owners(paths: string[]): Map<string, string> {
  const r = spawnSync('dpkg-query', ['-S', ...paths], { encoding: 'utf8' });
  const map = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([^:]+(?::[a-z0-9]+)?(?:, [^:]+(?::[a-z0-9]+)?)*): (\/.*)$/.exec(line);
    if (!m || line.startsWith('diversion by')) continue;
    map.set(m[2]!, m[1]!.split(', ')[0]!.replace(/:[a-z0-9]+$/, ''));
  }
  return map;
}

interface Installed {
  essential: boolean;
  required: boolean;
  /** Dependency groups (Pre-Depends, Depends); each group's alternatives in order. */
  depends: string[][];
}

function installedPackages(): { packages: Map<string, Installed>; providers: Map<string, string[]> } {
  const out = execFileSync('dpkg-query', ['-W', '-f=${Package}\t${db:Status-Abbrev}\t${Essential}\t${Priority}\t${Provides}\t${Pre-Depends}, ${Depends}\n'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const packages = new Map<string, Installed>();
  const providers = new Map<string, string[]>();
  const names = (list: string) => list.split('|').map((a) => a.trim().split(/[\s(:]/)[0]!).filter(Boolean);
  for (const line of out.split('\n')) {
    const [name, status, essential, priority, provides, depends] = line.split('\t');
    if (!name || !status?.startsWith('ii')) continue;
    packages.set(name, {
      essential: essential === 'yes',
      required: priority === 'required',
      depends: (depends ?? '').split(',').map(names).filter((g) => g.length > 0),
    });
    for (const v of (provides ?? '').split(',').map((p) => p.trim().split(/[\s(:]/)[0]!).filter(Boolean)) providers.set(v, [...(providers.get(v) ?? []), name]);
  }
  return { packages, providers };
}

/** Everything installing `roots` brings in: hard dependencies, the first alternative installed here. */
function closure(roots: Iterable<string>, db: ReturnType<typeof installedPackages>): Set<string> {
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    const pkg = db.packages.get(name);
    if (!pkg) continue;
    seen.add(name);
    for (const group of pkg.depends) {
      const pick = group.find((a) => db.packages.has(a) || db.providers.has(a));
      if (pick === undefined) continue;
      queue.push(...(db.packages.has(pick) ? [pick] : db.providers.get(pick)!));
    }
  }
  return seen;
}

const label = (n: Need) => (n.kind === 'program' ? n.name : n.kind === 'perl' ? `perl module ${n.module}` : `python module ${n.module}`);

t.test('the source reader finds programs behind helpers, wrappers and shell scripts', async (t) => {
  const helpers = `
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
export const run = promisify(execFile);
export function swaks(args: string[]) { return run('swaks', ['--timeout', '20', ...args]); }
export async function sh(...args: string[]) { return (await run(args[0]!, args.slice(1))).stdout; }
export const inNs = (ns: string, ...args: string[]) => sh('ip', 'netns', 'exec', ns, ...args);
export function start(classDir?: string) {
  const args = classDir ? ['--mount', 'sh', '-c', 'mount --bind "$0" /sys/class && exec "$1"', classDir, process.execPath] : [];
  return spawn(classDir ? 'unshare' : process.execPath, args);
}`;
  const user = `
import { swaks, inNs, run } from './helpers.ts';
await swaks(['--tls', '--to', 'a@b.test']);
await inNs('router', 'nft', 'list', 'tables');
const wrapper = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'cp -a "$1"/. "$0"/ && exec "$@"'];
class Nft { constructor(command: readonly string[] = ['nft']) {} }
await run(\`\${dir}/node_modules/.bin/node-gyp\`, ['rebuild']);
await run('python3', ['-c', 'import dkim, sys\\nfrom email.parser import Parser']);`;
  const needs = scanSources([{ path: 'test/helpers.ts', text: helpers }, { path: 'test/user.ts', text: user }]);
  const found = [...new Set(needs.map(label))].sort();
  t.same(found, ['cp', 'g++', 'ip', 'make', 'mount', 'nft', 'node-gyp', 'perl module Net::SSLeay', 'python module dkim', 'python module email',
    'python module sys', 'python3', 'sh', 'swaks', 'unshare'].sort());
  t.ok(needs.some((n) => label(n) === 'nft' && n.where === 'test/user.ts:4'), 'a program is reported where the command line is written');
});

t.test('prepare.sh installs the package of every program the suite runs', async (t) => {
  const listed = execFileSync('bash', [join(repo, 'test/prepare.sh'), '--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const needs = scanRepo(repo, roots);
  // Guards against a reader that finds nothing, which would pass this test vacuously.
  const names = new Set(needs.map(label));
  for (const known of ['swaks', 'openssl', 'nft', 'socat', 'qpdf', 'perl module Net::SSLeay', 'python module dkim']) t.ok(names.has(known), `the sources are read: ${known} found`);

  const byNeed = new Map<string, { need: Need; count: number }>();
  for (const need of needs) {
    const key = label(need);
    const seen = byNeed.get(key);
    if (seen) seen.count++;
    else byNeed.set(key, { need, count: 1 });
  }
  const db = installedPackages();
  const fromList = closure(listed, db);
  const everywhere = closure([...db.packages].filter(([, p]) => p.essential || p.required).map(([name]) => name), db);
  const files = new Map<string, string | undefined>();
  for (const [key, { need }] of byNeed) if (need.kind !== 'program' || !(need.name in fromNode || need.name in notRunByTheSuite)) files.set(key, fileOf(need));
  const owned = owners([...new Set([...files.values()].flatMap((f) => (f ? aliases(f) : [])))]);

  for (const [key, { need, count }] of [...byNeed].sort(([a], [b]) => a.localeCompare(b))) {
    const at = `${need.where}${count > 1 ? ` and ${count - 1} more` : ''}${'why' in need && need.why ? `; ${need.why}` : ''}`;
    if (need.kind === 'program' && need.name in fromNode) {
      t.comment(`${key}: ${fromNode[need.name]}`);
      continue;
    }
    if (need.kind === 'program' && need.name in notRunByTheSuite) {
      t.comment(`${key} (${at}): ${notRunByTheSuite[need.name]}`);
      continue;
    }
    const file = files.get(key);
    if (!file) {
      t.fail(`${key} (${at}) is not installed here: add the Debian package that ships it to test/prepare.sh's list and run it`);
      continue;
    }
    const pkg = aliases(file).map((a) => owned.get(a)).find(Boolean);
    if (!pkg) {
      t.fail(`${key} (${at}) is ${file}, which no Debian package ships: install it from a package listed in test/prepare.sh`);
      continue;
    }
    if (listed.includes(pkg)) t.pass(`${key} → ${pkg}`);
    else if (everywhere.has(pkg)) t.pass(`${key} → ${pkg} (in every Debian root: Essential or required)`);
    else if (fromList.has(pkg)) t.pass(`${key} → ${pkg} (a dependency of a listed package)`);
    else t.fail(`${key} (${at}) comes from the package ${pkg}, which test/prepare.sh does not install: add ${pkg} to its list`);
  }
});
