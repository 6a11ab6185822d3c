// Which programs the suite starts, read from its sources (no list kept by hand): every spawn,
// execFile, execFileSync, spawnSync, exec or execSync from node:child_process, every helper that
// passes its arguments on to one (promisify(execFile), `run`, `sh`, `swaks`, `inNs`, … found by
// following the arguments, also across imports), command prefixes kept in arrays
// (`['ip', 'netns', 'exec', NS, 'nft']`, a parameter `command = ['nft']`), and what wrappers run
// (`ip netns exec NS CMD`, `unshare … CMD`, `sh -c 'SCRIPT'`, `timeout`, `env`, …). Some programs
// need more than themselves: swaks does TLS through Perl's Net::SSLeay, gpg runs gpg-agent, node-gyp
// compiles with python3, make and g++, and Python code imports modules. Those are needs too.
import ts from 'typescript';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, basename } from 'node:path';

export type Need =
  | { kind: 'program'; name: string; where: string; why?: string }
  | { kind: 'perl'; module: string; where: string; why: string }
  | { kind: 'python'; module: string; where: string };

/** One word of a command line as far as the source tells it. */
type Word =
  | { k: 'lit'; values: string[] } // one of these strings (several when a conditional picks one)
  | { k: 'param'; fn: Fn; i: number } // parameter i of an enclosing function
  | { k: 'spread'; fn: Fn; i: number; variadic: boolean } // its parameters from i on (variadic), or the words of array parameter i
  | { k: 'unknown' }
  | { k: 'tail' }; // any number of words not known here

/** A template's own parameters are known by position: `fn` is only who they belonged to. */
type Template = ReadonlyArray<{ k: 'lit'; values: string[] } | { k: 'param'; i: number } | { k: 'spread'; i: number; variadic: boolean } | { k: 'unknown' } | { k: 'tail' }>;
type Runner = { kind: 'argv'; template: Template } | { kind: 'shell' };

const childProcess = new Set(['node:child_process', 'child_process']);
const builtins: Record<string, Runner> = {
  spawn: { kind: 'argv', template: [{ k: 'param', i: 0 }, { k: 'spread', i: 1, variadic: false }] },
  spawnSync: { kind: 'argv', template: [{ k: 'param', i: 0 }, { k: 'spread', i: 1, variadic: false }] },
  execFile: { kind: 'argv', template: [{ k: 'param', i: 0 }, { k: 'spread', i: 1, variadic: false }] },
  execFileSync: { kind: 'argv', template: [{ k: 'param', i: 0 }, { k: 'spread', i: 1, variadic: false }] },
  exec: { kind: 'shell' },
  execSync: { kind: 'shell' },
};

/** Array literals held under these names are command lines (or prefixes of one). */
const commandName = /^(command|cmd|argv|wrapper)$|(Command|Cmd|Argv|Wrapper)$/;

interface SourceFile {
  path: string; // relative to the repo, for messages
  sf: ts.SourceFile;
  /** Local name → runner defined in this file. */
  runners: Map<string, Runner>;
  /** Local name → where it is imported from (a child_process builtin, or another file's export). */
  imports: Map<string, { builtin: string } | { file: string; name: string }>;
}

const max = 32; // alternatives kept per command line: conditionals multiply them

export function scanSources(sources: ReadonlyArray<{ path: string; text: string }>): Need[] {
  const files = new Map<string, SourceFile>();
  for (const { path, text } of sources) {
    const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    files.set(path, { path, sf, runners: new Map(), imports: collectImports(sf, path) });
  }
  // Helpers are found by what they pass on; a helper of a helper needs another round.
  for (let round = 0; round < 10; round++) {
    let found = false;
    for (const f of files.values()) found = visit(f, files, null) || found;
    if (!found) break;
  }
  const needs: Need[] = [];
  for (const f of files.values()) visit(f, files, needs);
  return needs;
}

/** Every .ts file under `roots` (folders of the repo) and every file they import, read from disk. */
export function scanRepo(repo: string, roots: readonly string[]): Need[] {
  const seen = new Map<string, string>();
  const queue: string[] = [];
  const add = (abs: string) => {
    const rel = relative(repo, abs);
    if (seen.has(rel) || rel.startsWith('..') || rel.includes('node_modules/') || !existsSync(abs)) return;
    seen.set(rel, readFileSync(abs, 'utf8'));
    queue.push(rel);
  };
  for (const root of roots) for (const file of walk(join(repo, root))) add(file);
  while (queue.length > 0) {
    const rel = queue.shift()!;
    const sf = ts.createSourceFile(rel, seen.get(rel)!, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    for (const spec of importSpecifiers(sf)) if (spec.startsWith('.')) add(resolve(repo, dirname(rel), spec));
  }
  const needs = scanSources([...seen].map(([path, text]) => ({ path, text })));
  // Python files of the suite are run by the Debian python3 (test/dkimsign/dkimpy.py).
  for (const root of roots) {
    for (const file of walk(join(repo, root), '.py')) {
      const path = relative(repo, file);
      for (const module of pythonImports(readFileSync(file, 'utf8'))) needs.push({ kind: 'python', module, where: path });
    }
  }
  return needs;
}

function walk(dir: string, ext = '.ts'): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) out.push(...walk(path, ext));
    } else if (entry.name.endsWith(ext)) out.push(path);
  }
  return out;
}

function importSpecifiers(sf: ts.SourceFile): string[] {
  const specs: string[] = [];
  const look = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      specs.push(node.arguments[0].text);
    }
    ts.forEachChild(node, look);
  };
  look(sf);
  return specs;
}

function collectImports(sf: ts.SourceFile, path: string): SourceFile['imports'] {
  const imports: SourceFile['imports'] = new Map();
  const bind = (spec: string, local: string, name: string) => {
    if (childProcess.has(spec)) {
      if (name in builtins) imports.set(local, { builtin: name });
    } else if (spec.startsWith('.')) {
      imports.set(local, { file: join(dirname(path), spec), name });
    }
  };
  const look = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) bind(node.moduleSpecifier.text, el.name.text, (el.propertyName ?? el.name).text);
      }
    }
    // const { execFile } = await import('node:child_process');
    if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name) && node.initializer) {
      let init: ts.Expression = node.initializer;
      if (ts.isAwaitExpression(init)) init = init.expression;
      if (ts.isCallExpression(init) && init.expression.kind === ts.SyntaxKind.ImportKeyword && init.arguments[0] && ts.isStringLiteral(init.arguments[0])) {
        for (const el of node.name.elements) {
          if (ts.isIdentifier(el.name)) {
            const name = el.propertyName && ts.isIdentifier(el.propertyName) ? el.propertyName.text : el.name.text;
            bind(init.arguments[0].text, el.name.text, name);
          }
        }
      }
    }
    ts.forEachChild(node, look);
  };
  look(sf);
  return imports;
}

function lookupRunner(f: SourceFile, files: Map<string, SourceFile>, name: string): Runner | undefined {
  const local = f.runners.get(name);
  if (local) return local;
  const imp = f.imports.get(name);
  if (!imp) return undefined;
  if ('builtin' in imp) return builtins[imp.builtin];
  return files.get(imp.file)?.runners.get(imp.name);
}

type Fn = ts.SignatureDeclaration;

/** The name a function is known by: a declaration's, or that of the const holding it (methods: none). */
function functionName(fn: Fn): string | undefined {
  if (ts.isFunctionDeclaration(fn)) return fn.name?.text;
  if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name)) return fn.parent.name.text;
  return undefined;
}

/** Reads expressions at one place in a file: parameters of the functions around it, constants in scope. */
class Reader {
  readonly #at: ts.Node;
  constructor(at: ts.Node) {
    this.#at = at;
  }

  /** A parameter of the innermost enclosing function that has one by this name (closures see outer ones). */
  #param(name: string): { fn: Fn; i: number; rest: boolean } | undefined {
    for (let n: ts.Node | undefined = this.#at.parent; n; n = n.parent) {
      if (!ts.isFunctionLike(n)) continue;
      const i = n.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === name);
      if (i >= 0) return { fn: n, i, rest: n.parameters[i]!.dotDotDotToken !== undefined };
    }
    return undefined;
  }

  /** The initializer of `const NAME = …` in the enclosing function or the file. */
  #constant(name: string, at: ts.Node): ts.Expression | undefined {
    const scopes: ts.Node[] = [];
    for (let n: ts.Node | undefined = at.parent; n; n = n.parent) if (ts.isFunctionLike(n) || ts.isSourceFile(n)) scopes.push(n);
    for (const scope of scopes) {
      let found: ts.Expression | undefined;
      const look = (node: ts.Node): void => {
        if (found) return;
        if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name && node.initializer &&
          ts.isVariableDeclarationList(node.parent) && (node.parent.flags & ts.NodeFlags.Const) !== 0) {
          found = node.initializer;
          return;
        }
        // Not into other functions: their constants are theirs.
        if (node !== scope && ts.isFunctionLike(node)) return;
        ts.forEachChild(node, look);
      };
      ts.forEachChild(scope, look);
      if (found) return found;
    }
    return undefined;
  }

  word(e: ts.Expression, depth = 0): Word {
    if (depth > 8) return { k: 'unknown' };
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return { k: 'lit', values: [e.text] };
    if (ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) return this.word(e.expression, depth + 1);
    // `${dir}/bin/node`: a program inside some folder, known by its name.
    if (ts.isTemplateExpression(e)) {
      const last = e.templateSpans.at(-1)!.literal.text;
      return last.includes('/') && !last.endsWith('/') ? { k: 'lit', values: [last.slice(last.lastIndexOf('/') + 1)] } : { k: 'unknown' };
    }
    if (ts.isConditionalExpression(e)) return merge([this.word(e.whenTrue, depth + 1), this.word(e.whenFalse, depth + 1)]);
    if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || e.operatorToken.kind === ts.SyntaxKind.BarBarToken)) {
      return merge([this.word(e.left, depth + 1), this.word(e.right, depth + 1)]);
    }
    if (ts.isIdentifier(e)) {
      const p = this.#param(e.text);
      if (p) return p.rest ? { k: 'unknown' } : { k: 'param', fn: p.fn, i: p.i };
      const init = this.#constant(e.text, e);
      return init ? this.word(init, depth + 1) : { k: 'unknown' };
    }
    // args[0] of a rest parameter `...args`
    if (ts.isElementAccessExpression(e) && ts.isIdentifier(e.expression) && ts.isNumericLiteral(e.argumentExpression)) {
      const p = this.#param(e.expression.text);
      if (p?.rest) return { k: 'param', fn: p.fn, i: p.i + Number(e.argumentExpression.text) };
    }
    return { k: 'unknown' };
  }

  /** The words an expression in an argument-list position stands for; alternatives when it branches. */
  words(e: ts.Expression | undefined, depth = 0): Word[][] {
    if (e === undefined) return [[]];
    if (depth > 8) return [[{ k: 'tail' }]];
    if (ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) return this.words(e.expression, depth + 1);
    if (ts.isArrayLiteralExpression(e)) {
      let alts: Word[][] = [[]];
      for (const el of e.elements) {
        const parts = ts.isSpreadElement(el) ? this.words(el.expression, depth + 1) : [[this.word(el, depth + 1)]];
        alts = product(alts, parts);
      }
      return alts;
    }
    if (ts.isConditionalExpression(e)) return [...this.words(e.whenTrue, depth + 1), ...this.words(e.whenFalse, depth + 1)].slice(0, max);
    if (ts.isIdentifier(e)) {
      const p = this.#param(e.text);
      if (p) return [[{ k: 'spread', fn: p.fn, i: p.i, variadic: p.rest }]];
      const init = this.#constant(e.text, e);
      return init ? this.words(init, depth + 1) : [[{ k: 'tail' }]];
    }
    // args.slice(1) of a rest parameter
    if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression) && e.expression.name.text === 'slice' &&
      ts.isIdentifier(e.expression.expression) && e.arguments.length === 1 && ts.isNumericLiteral(e.arguments[0]!)) {
      const p = this.#param(e.expression.expression.text);
      if (p?.rest) return [[{ k: 'spread', fn: p.fn, i: p.i + Number(e.arguments[0].text), variadic: true }]];
    }
    return [[{ k: 'tail' }]];
  }

  /** A call's command lines through a runner's template, in terms of this function's parameters. */
  apply(template: Template, args: readonly ts.Expression[]): Word[][] {
    let alts: Word[][] = [[]];
    for (const w of template) {
      let parts: Word[][];
      if (w.k === 'param') {
        const a = args[w.i];
        parts = a === undefined ? [[]] : ts.isSpreadElement(a) ? [[{ k: 'tail' }]] : [[this.word(a)]];
      } else if (w.k === 'spread' && w.variadic) {
        parts = [[]];
        for (const a of args.slice(w.i)) parts = product(parts, ts.isSpreadElement(a) ? this.words(a.expression) : [[this.word(a)]]);
      } else if (w.k === 'spread') {
        const a = args[w.i];
        parts = a === undefined || ts.isSpreadElement(a) ? [[]] : this.words(a);
      } else parts = [[w as Word]];
      alts = product(alts, parts);
    }
    return alts;
  }
}

function merge(words: Word[]): Word {
  const values = words.flatMap((w) => (w.k === 'lit' ? w.values : []));
  return values.length > 0 ? { k: 'lit', values } : words[0]!;
}

function product(a: Word[][], b: Word[][]): Word[][] {
  const out: Word[][] = [];
  for (const x of a) for (const y of b) if (out.length < max) out.push([...x, ...y]);
  return out;
}

/** The one function whose parameters a command line is made of, if any. */
function owner(v: Word[]): Fn | undefined {
  const fns = new Set(v.flatMap((w) => (w.k === 'param' || w.k === 'spread' ? [w.fn] : [])));
  return fns.size === 1 ? [...fns][0] : undefined;
}
const concrete = (v: Word[]): Word[] => v.map((w) => (w.k === 'param' ? { k: 'unknown' } : w.k === 'spread' ? { k: 'tail' } : w));

/**
 * One pass over a file. Without `needs`: finds helpers (returns whether a new one was found).
 * With `needs`: adds what every command line in the file runs.
 */
function visit(f: SourceFile, files: Map<string, SourceFile>, needs: Need[] | null): boolean {
  let found = false;
  const where = (node: ts.Node) => `${f.path}:${f.sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const look = (node: ts.Node): void => {
    // const run = promisify(execFile)
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && ts.isCallExpression(node.initializer) &&
      ts.isIdentifier(node.initializer.expression) && node.initializer.expression.text === 'promisify') {
      const target = node.initializer.arguments[0];
      const runner = target && ts.isIdentifier(target) ? lookupRunner(f, files, target.text) : undefined;
      if (runner && !f.runners.has(node.name.text)) {
        f.runners.set(node.name.text, runner);
        found = true;
      }
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
      const runner = lookupRunner(f, files, node.expression.text);
      if (runner) {
        const reader = new Reader(node);
        if (runner.kind === 'shell') {
          const script = node.arguments[0] ? reader.word(node.arguments[0]) : { k: 'unknown' as const };
          if (needs && script.k === 'lit') for (const s of script.values) for (const v of shellCommands(s)) needs.push(...needsOf(v, where(node)));
        } else {
          for (const v of reader.apply(runner.template, node.arguments)) {
            const fn = owner(v);
            const name = fn && functionName(fn);
            if (needs) needs.push(...needsOf(concrete(v), where(node)));
            else if (name && !f.runners.has(name)) {
              f.runners.set(name, { kind: 'argv', template: v });
              found = true;
            }
          }
        }
      }
    }
    if (needs && ts.isArrayLiteralExpression(node) && isCommandArray(node)) {
      const reader = new Reader(node);
      for (const v of reader.words(node)) needs.push(...needsOf(concrete(v), where(node)));
    }
    ts.forEachChild(node, look);
  };
  look(f.sf);
  if (needs) needs.push(...pythonNeeds(f, needs));
  return found;
}

// (Sets from strings: an array literal of wrapper names would itself read as a command line.)
const wrappers = new Set('unshare nsenter timeout setsid flock'.split(' '));
const shells = new Set('sh bash dash'.split(' '));

/** An array literal that is a command line: it starts with a wrapper, or is held under a command's name. */
function isCommandArray(node: ts.ArrayLiteralExpression): boolean {
  const [first, second, third] = node.elements.map((e) => (ts.isStringLiteral(e) ? e.text : undefined));
  if (first === undefined) return false;
  if (first === 'ip' && second === 'netns' && third === 'exec') return true;
  if (wrappers.has(first)) return true;
  if (shells.has(first) && node.elements.some((e) => ts.isStringLiteral(e) && e.text === '-c')) return true;
  const holder = node.parent;
  const name = (ts.isVariableDeclaration(holder) || ts.isParameter(holder) || ts.isPropertyAssignment(holder) || ts.isBindingElement(holder)) &&
    holder.name && ts.isIdentifier(holder.name) ? holder.name.text : undefined;
  return name !== undefined && commandName.test(name);
}

// --- What one command line runs -------------------------------------------------------------

const valueOptions: Record<string, string[]> = {
  unshare: ['--propagation', '--setgroups', '--map-user', '--map-group', '--map-users', '--map-groups', '--root', '-R', '--wd', '-w', '--setuid', '-S', '--setgid', '-G', '--monotonic', '--boottime'],
  nsenter: ['-t', '--target', '-S', '--setuid', '-G', '--setgid', '-r', '--root', '-w', '--wd'],
  timeout: ['-s', '--signal', '-k', '--kill-after'],
  env: ['-u', '--unset', '-C', '--chdir'],
  nice: ['-n', '--adjustment'],
  flock: ['-w', '--timeout', '-E', '--conflict-exit-code'],
  setsid: [],
  nohup: [],
};

const text = (w: Word | undefined): string[] => (w?.k === 'lit' ? w.values : []);

/** The programs (and what they need) of one command line whose first word is the program. */
export function needsOf(v: Word[], where: string): Need[] {
  const out: Need[] = [];
  const [head, ...rest] = v;
  for (const program of text(head)) {
    out.push({ kind: 'program', name: program, where });
    const name = basename(program);
    const first = text(rest[0]);
    if (name === 'ip' && first.includes('netns') && text(rest[1]).includes('exec')) out.push(...needsOf(rest.slice(3), where));
    else if (name in valueOptions) {
      let i = 0;
      while (i < rest.length && text(rest[i]).some((t) => t.startsWith('-'))) {
        const opt = text(rest[i])[0]!;
        i += valueOptions[name]!.includes(opt) ? 2 : 1;
      }
      if (name === 'env') while (i < rest.length && text(rest[i]).some((t) => /^\w+=/.test(t))) i++;
      if (name === 'timeout' || name === 'flock') i++; // the duration, the lock file
      out.push(...needsOf(rest.slice(i), where));
    } else if (shells.has(name)) {
      const c = rest.findIndex((w) => text(w).includes('-c'));
      if (c >= 0) for (const script of text(rest[c + 1])) for (const line of shellCommands(script)) out.push(...needsOf(line, where));
    } else if (name === 'swaks' && rest.some((w) => text(w).some((t) => /^--?tls/.test(t)))) {
      out.push({ kind: 'perl', module: 'Net::SSLeay', where, why: 'swaks does TLS through Net::SSLeay (the swaks package only recommends it)' });
    } else if (name === 'gpg') {
      out.push({ kind: 'program', name: 'gpg-agent', where, why: 'gpg asks gpg-agent for every passphrase and key (the gpg package only recommends it)' });
    } else if (name === 'node-gyp') {
      for (const tool of 'python3 make g++'.split(' ')) out.push({ kind: 'program', name: tool, where, why: 'node-gyp builds addons with it' });
    }
  }
  return out;
}

const shellBuiltins = new Set(['cd', 'shift', 'set', 'export', 'echo', 'printf', 'test', '[', 'true', 'false', 'exit', 'read', 'wait', 'trap',
  'ulimit', 'umask', 'unset', 'eval', ':', 'source', '.', 'return', 'local', 'kill']);
const shellKeywords = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'in', 'case', 'esac', '!', '{', '}']);

/** The simple commands of a shell script, each as its words (a word with an expansion is unknown). */
export function shellCommands(script: string): Word[][] {
  const out: Word[][] = [];
  for (const segment of script.split(/&&|\|\||[;|&\n()`]|\$\(/)) {
    const words = (segment.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w): Word =>
      w.includes('$') && !w.startsWith("'") ? { k: 'unknown' } : { k: 'lit', values: [w.replace(/^(["'])(.*)\1$/, '$2')] });
    let i = 0;
    for (;;) {
      const t = text(words[i])[0];
      if (t !== undefined && (shellKeywords.has(t) || /^\w+=/.test(t) || t === 'exec' || t === 'command')) i++;
      else break;
    }
    const first = text(words[i])[0];
    if (first === undefined || shellBuiltins.has(first)) continue;
    out.push(words.slice(i));
  }
  return out;
}

// --- Python -------------------------------------------------------------------------------------

/** Modules imported by Python source text (top-level names: `email` for `from email.parser import …`). */
export function pythonImports(source: string): string[] {
  const names = new Set<string>();
  for (const line of source.split('\n')) {
    const imp = /^\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)\s*(?:#.*)?$/.exec(line);
    if (imp) for (const n of imp[1]!.split(',')) names.add(n.trim().split('.')[0]!);
    const from = /^\s*from\s+([\w.]+)\s+import\s+/.exec(line);
    if (from && !from[1]!.startsWith('.')) names.add(from[1]!.split('.')[0]!);
  }
  return [...names];
}

/** In a file that runs python3, the Python its strings hold (`python3 -c '…'` scripts). */
function pythonNeeds(f: SourceFile, needs: readonly Need[]): Need[] {
  const runsPython = needs.some((n) => n.kind === 'program' && n.where.startsWith(`${f.path}:`) && /^python3(\.\d+)?$/.test(basename(n.name)));
  if (!runsPython) return [];
  const out: Need[] = [];
  const look = (node: ts.Node): void => {
    let source: string | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) source = node.text;
    else if (ts.isTemplateExpression(node)) source = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join('\n');
    if (source !== undefined) {
      const line = f.sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      for (const module of pythonImports(source)) out.push({ kind: 'python', module, where: `${f.path}:${line}` });
      return;
    }
    ts.forEachChild(node, look);
  };
  look(f.sf);
  return out;
}
