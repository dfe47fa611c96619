import { afterAll } from 'vitest';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RVC_BIN = path.join(ROOT, 'dist/cli/main.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real built `rvc` binary. */
export function rvc(cwd: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [RVC_BIN, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 1 << 28,
    // A hung rvc must fail the test, not block the whole run.
    timeout: 120_000, killSignal: 'SIGKILL',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr + (r.error ? `\n[runner] ${r.error.message}` : '') };
}

/**
 * Runs rvc without blocking this process's event loop: needed whenever the test itself serves
 * the requests rvc makes (an in-process fake server or fault proxy).
 */
export function rvcAsync(cwd: string, args: string[], env: Record<string, string> = {}, onStderr?: (soFar: string) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RVC_BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export async function rvcAsyncOk(cwd: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const r = await rvcAsync(cwd, args, env);
  if (r.code !== 0) throw new Error(`rvc ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Runs rvc and fails the test with its output if it does not exit 0. */
export function rvcOk(cwd: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = rvc(cwd, args, env);
  if (r.code !== 0) throw new Error(`rvc ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

export function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A fresh temp folder; removed by the returned cleanup. */
export function tmpDir(prefix = 'rvc-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Repositories made once per test process by the real git and `rvc init`, keyed by the options
 * of makeRepo; every makeRepo copies one (a copy costs a few milliseconds, `rvc init` and six git
 * processes far more, and most tests start from such a repository). Removed after the test file
 * that made them (each test file loads this module afresh).
 */
const repoTemplates = new Map<string, string>();
afterAll(() => {
  repoTemplates.forEach((d) => rmrf(d));
  repoTemplates.clear();
});

function repoTemplate(opts: { rvcInit?: boolean; initArgs?: string[] }): string {
  const key = JSON.stringify([opts.rvcInit !== false, opts.initArgs ?? []]);
  let dir = repoTemplates.get(key);
  if (dir) return dir;
  dir = tmpDir('rvc-template-');
  repoTemplates.set(key, dir);
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.email', 'test@example.com']);
  git(dir, ['config', 'user.name', 'rvc test']);
  git(dir, ['config', 'commit.gpgsign', 'false']);
  if (opts.rvcInit !== false) {
    rvcOk(dir, ['init', ...(opts.initArgs ?? [])]);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'init']);
  }
  return dir;
}

/** A temp git repository with an identity, initialised with `rvc init` unless told otherwise. */
export function makeRepo(opts: { rvcInit?: boolean; initArgs?: string[] } = {}): string {
  const dir = tmpDir();
  fs.cpSync(repoTemplate(opts), dir, { recursive: true });
  return dir;
}

/** Writes files from a declared tree: { 'data/a.txt': 'content' }. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/** Every file below `dir` as { relPath: content } (for byte-exact comparisons). */
export function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const rec = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) rec(path.join(d, e.name), r);
      else out[r] = fs.readFileSync(path.join(d, e.name), 'latin1');
    }
  };
  if (fs.existsSync(dir)) rec(dir, '');
  return out;
}

export function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

let distinctSeed = 0;
/** `n` bytes that differ from every earlier call's, so every file made of them is a new object. */
export function distinctBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  const s = ++distinctSeed;
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ s) >>> 0, i);
  return b;
}
