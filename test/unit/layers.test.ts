import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';

/**
 * The layer rules of docs/architecture.md, checked on every import in src/. A layer may import
 * only the layers listed for it; SDKs only from their own remote file; the CLI only the public API;
 * the verbs only services (no verb imports another), and only the public API imports the verbs.
 */
const ALLOWED: Record<string, string[]> = {
  base: [],
  model: ['base', 'model'],
  fsutil: ['base', 'model', 'fsutil'],
  hashing: ['base', 'model', 'fsutil', 'hashing'],
  odb: ['base', 'model', 'fsutil', 'hashing', 'odb'],
  remote: ['base', 'model', 'fsutil', 'remote'],
  scm: ['base', 'fsutil', 'scm'],
  repo: ['base', 'model', 'fsutil', 'hashing', 'odb', 'remote', 'scm', 'repo'],
  pipeline: ['base', 'model', 'fsutil', 'hashing', 'odb', 'remote', 'scm', 'repo', 'pipeline'],
  // A verb is a leaf: it may use every service, and only the public API imports it.
  verbs: ['base', 'model', 'fsutil', 'hashing', 'odb', 'remote', 'scm', 'repo', 'pipeline'],
  // Experiments are runs of the pipeline saved in git: built on the verbs they run (repro, checkout).
  exp: ['base', 'model', 'fsutil', 'hashing', 'odb', 'remote', 'scm', 'repo', 'pipeline', 'verbs', 'exp'],
  index: ['base', 'model', 'repo', 'pipeline', 'remote', 'verbs', 'exp', 'index'],
  cli: ['cli', 'index'],
};

function layerOf(rel: string): string {
  if (rel === 'errors.ts' || rel === 'progress.ts') return 'base';
  if (rel === 'index.ts') return 'index';
  if (rel.startsWith('verbs/exp/')) return 'exp';
  return rel.split('/')[0]!;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const SDK = /^@aws-sdk\/|^@smithy\/|^@google-cloud\//;

/** Every module specifier a file imports: static imports and re-exports, and dynamic import()s. */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

/** The module graph of src/ (relative imports only), keyed by path relative to src/. */
function moduleGraph(src: string, files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const rel = path.relative(src, file).split(path.sep).join('/');
    const deps = importsOf(fs.readFileSync(file, 'utf8')).filter((s) => s.startsWith('.'))
      .map((s) => path.relative(src, path.resolve(path.dirname(file), s)).split(path.sep).join('/').replace(/\.js$/, '.ts'));
    graph.set(rel, [...new Set(deps)]);
  }
  return graph;
}

/** One import cycle of the graph, as the list of modules around it, or undefined when there is none. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe('architecture layers', () => {
  const src = path.join(ROOT, 'src');
  const files = sourceFiles(src);

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  for (const file of files) {
    const rel = path.relative(src, file).split(path.sep).join('/');
    it(`${rel} imports only what its layer may`, () => {
      const text = fs.readFileSync(file, 'utf8');
      const from = layerOf(rel);
      const allowed = ALLOWED[from];
      expect(allowed, `unknown layer for ${rel}`).toBeDefined();
      for (const spec of importsOf(text)) {
        if (SDK.test(spec)) {
          expect(['remote/s3.ts', 'remote/gcs.ts'], `${rel} imports the SDK ${spec}`).toContain(rel);
          continue;
        }
        if (!spec.startsWith('.')) continue;
        const target = path.relative(src, path.resolve(path.dirname(file), spec)).split(path.sep).join('/').replace(/\.js$/, '.ts');
        const to = layerOf(target);
        expect(allowed, `${rel} (${from}) imports ${target} (${to})`).toContain(to);
      }
      if (from !== 'cli') {
        expect(text, `${rel} writes to the terminal, exits or handles signals`).not.toMatch(/console\.(log|error|warn)|process\.(stdout|stderr)\.write|process\.exit\(|process\.(on|once)\(/);
      }
    });
  }

  it('has no import cycle between modules (dynamic imports and type imports included)', () => {
    const cycle = findCycle(moduleGraph(src, files));
    expect(cycle, `import cycle: ${cycle?.join(' -> ')}`).toBeUndefined();
  });

  it('finds a cycle when there is one', () => {
    const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
    expect(findCycle(g)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
    expect(findCycle(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toBeUndefined();
  });
});
