// The structure the README and docs/ARCHITECTURE.md describe, held to by reading every import:
// the layer table of ARCHITECTURE.md (parsed from it, so the two cannot drift), no cycle between
// folders, settings.ts files as declarations, and the one registry allowed to import upwards.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';
import { repo } from '../support/firmware.ts';

const ROOTS = ['src', 'firmware', 'board', 'image', 'test', 'bench'];
const SKIP = new Set(['node_modules', 'out', 'cache', 'dist']);
const REGISTRY = 'src/config/stations.ts';

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!SKIP.has(name)) out.push(...files(p));
    } else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a file (static, type-only and dynamic), as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
    out.push(relative(repo, resolve(dirname(file), (m[1] ?? m[2])!)));
  }
  return out;
}

/** The folder a file counts in: src/X, board/X, or the top folder; src/context.ts on its own. */
function folderOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : path;
  if (parts[0] === 'board') return parts.length > 2 ? `board/${parts[1]}` : 'board';
  return parts[0]!;
}

const isSettings = (path: string) => path.endsWith('/settings.ts') && !path.startsWith('test/') && !path.startsWith('bench/');

// The layer table, from the document.
const doc = readFileSync(join(repo, 'docs/ARCHITECTURE.md'), 'utf8');
const rows = [...doc.matchAll(/^\| (rooms|foundation|stations|board|firmware|image|test|bench) \| ([^|]+) \| ([^|]+) \|$/gm)];
const layers = new Map(rows.map((r) => [r[1]!, { folders: r[2]!.trim().split(/\s+/), mayImport: new Set(r[3]!.trim().split(/\s+/)) }]));

function layerOf(folder: string): string {
  for (const [name, { folders }] of layers) {
    if (folders.includes(folder)) return name;
  }
  if (folder.startsWith('src/') && folder.split('/').length === 2) return 'stations';
  if (folder.startsWith('board')) return 'board';
  throw new Error(`no layer for ${folder}`);
}

const all = ROOTS.flatMap((r) => files(join(repo, r))).map((f) => relative(repo, f));
const edges = all.flatMap((from) => importsOf(join(repo, from)).map((to) => ({ from, to })));

t.test('the layer table was read from docs/ARCHITECTURE.md', async (t) => {
  t.same([...layers.keys()], ['rooms', 'foundation', 'stations', 'board', 'firmware', 'image', 'test', 'bench']);
  t.ok(edges.length > 500, `${edges.length} imports read from ${all.length} files`);
});

t.test('every import goes in an allowed direction', async (t) => {
  const wrong: string[] = [];
  for (const { from, to } of edges) {
    if (from === REGISTRY && isSettings(to)) continue;
    if (isSettings(from)) continue; // judged below
    const a = layerOf(folderOf(from));
    const b = layerOf(folderOf(to));
    if (!layers.get(a)!.mayImport.has(b)) wrong.push(`${from} (${a}) → ${to} (${b})`);
  }
  t.same(wrong, [], 'no import against the table');
});

t.test('a settings.ts is a declaration: it imports only src/settings/ and leaf data', async (t) => {
  const wrong: string[] = [];
  for (const { from, to } of edges) {
    if (!isSettings(from) || to.startsWith('src/settings/')) continue;
    const leaf = importsOf(join(repo, to)).length === 0;
    if (!leaf) wrong.push(`${from} → ${to}`);
  }
  t.same(wrong, []);
});

t.test('no cycle between folders', async (t) => {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (from === REGISTRY && isSettings(to)) continue;
    // A settings.ts declaration counts apart from its station (only the registry reads it).
    const a = isSettings(from) ? `${from}` : folderOf(from);
    const b = isSettings(to) ? `${to}` : folderOf(to);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  }
  // Tarjan's strongly connected components: any with more than one folder is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) cycles.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  t.same(cycles, [], 'folders that import each other, directly or round about');
});
