/**
 * The remote layer's import rules, checked on the source: it may use only model, fsutil, errors
 * and progress from the rest of rvc, and cloud SDKs only in s3.ts / gcs.ts and only through a
 * dynamic import(), so a command that never touches a remote never loads them.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/remote');
const SDK = /^@(aws-sdk|smithy|google-cloud)\//;
const ALLOWED_INTERNAL = /^\.\.\/(model\/[^/]+|fsutil\/[^/]+|errors|progress)\.js$/;

async function sources(): Promise<[string, string][]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.ts'));
  return Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n), 'utf8')] as [string, string]));
}

function staticImports(src: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of src.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
    out.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  }
  return out;
}

describe('remote layer imports', () => {
  it('reaches only model, fsutil, errors and progress outside src/remote', async () => {
    for (const [name, src] of await sources()) {
      for (const { spec } of staticImports(src)) {
        if (spec.startsWith('../')) expect(spec, `${name} imports ${spec}`).toMatch(ALLOWED_INTERNAL);
      }
    }
  });

  it('loads cloud SDKs only dynamically, and only in s3.ts and gcs.ts', async () => {
    for (const [name, src] of await sources()) {
      for (const { spec, typeOnly } of staticImports(src)) {
        if (SDK.test(spec)) expect(typeOnly, `${name} statically imports ${spec}`).toBe(true);
      }
      for (const m of src.matchAll(/import\(\s*'([^']+)'\s*\)/g)) {
        if (SDK.test(m[1]!)) expect(['s3.ts', 'gcs.ts'], `${name} loads ${m[1]}`).toContain(name);
      }
    }
  });
});
