import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';

/**
 * The layer rules of docs/architecture.md, checked on every import in src/. A layer may import
 * only the layers listed for it; SDKs only from their own remote file; the CLI only the public API.
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
  verbs: ['base', 'model', 'fsutil', 'hashing', 'odb', 'remote', 'scm', 'repo', 'pipeline'],
  index: ['base', 'model', 'repo', 'pipeline', 'remote', 'verbs', 'index'],
  cli: ['cli', 'index'],
};

function layerOf(rel: string): string {
  if (rel === 'errors.ts' || rel === 'progress.ts') return 'base';
  if (rel === 'index.ts') return 'index';
  return rel.split('/')[0]!;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const SDK = /^@aws-sdk\/|^@smithy\/|^@google-cloud\//;

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
      const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
      for (const spec of specs) {
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
        expect(text, `${rel} writes to the terminal`).not.toMatch(/console\.(log|error|warn)|process\.(stdout|stderr)\.write|process\.exit\(/);
      }
    });
  }
});
