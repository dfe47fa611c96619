import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { EnvironmentRecord } from '../model/environment.js';
import type { EnvironmentSpec } from '../model/pipeline.js';
import { pipelineDirOf } from '../model/names.js';
import { compareStrings, setOwn } from '../model/values.js';
import { hashFile } from '../hashing/hash.js';
import type { Repo } from '../repo/repo.js';

/**
 * Capturing the environment a stage runs in: the machine (OS and kernel, CPU, memory, GPU when
 * `nvidia-smi` exists), the interpreter and tools, the hashes of the project's environment
 * files, and the project's own probes (`environment:` in rvc.yaml). Probes run in parallel,
 * each in its own process group killed at the timeout; a probe that fails or hangs is recorded
 * as `{error: …}`, and capture itself never throws, so it never fails a run.
 */

/** Environment files recorded when found beside a pipeline file (or at the root). */
const ENV_FILE_RE = /^(requirements[^/]*\.txt|uv\.lock|poetry\.lock|Pipfile\.lock|environment\.ya?ml|conda[^/]*\.(lock|ya?ml)|Dockerfile|package-lock\.json)$/;
/** Output kept of one probe. */
const MAX_PROBE_OUTPUT = 1000;
/** Files larger than this are recorded by size only (hashing them would not be cheap). */
const MAX_HASHED_FILE = 64 * 1024 * 1024;

export interface CaptureOptions {
  environ?: NodeJS.ProcessEnv;
  /** Pipeline files whose folders are searched for environment files (the root is always). */
  pipelineFiles?: readonly string[];
}

/** Captures the environment record. Never throws. */
export async function captureEnvironment(repo: Repo, spec: EnvironmentSpec | undefined, opts: CaptureOptions = {}): Promise<EnvironmentRecord> {
  const environ = opts.environ ?? process.env;
  const timeoutMs = (spec?.timeout ?? 2) * 1000;
  const rec: Record<string, unknown> = {};
  try {
    const cpus = os.cpus();
    rec['os'] = { name: os.type(), kernel: os.release(), arch: os.arch() };
    rec['cpu'] = { model: cpus[0]?.model.trim() ?? 'unknown', cores: os.availableParallelism() };
    rec['memory'] = { gib: Math.round(os.totalmem() / 2 ** 30) };
  } catch (e) {
    rec['os'] = { error: messageOf(e) };
  }
  const tools: Record<string, unknown> = { node: process.version };
  const jobs: Promise<void>[] = [];
  const python = onPath('python3', environ) ?? onPath('python', environ);
  if (python) jobs.push(probe(pastPyenvShim(python, repo.root, environ) ?? python, ['--version'], repo.root, environ, timeoutMs).then((v) => setOwn(tools, 'python', v)));
  if (onPath('nvidia-smi', environ)) {
    jobs.push(probe('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], repo.root, environ, timeoutMs).then((v) => {
      rec['gpu'] = typeof v === 'string' ? gpuOf(v) : v;
    }));
  }
  const probes: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(spec?.commands ?? {})) {
    jobs.push(probe('sh', ['-c', p.cmd], path.join(repo.root, p.wdir), environ, timeoutMs).then((v) => setOwn(probes, name, v)));
  }
  const files: Record<string, unknown> = {};
  try {
    for (const f of environmentFiles(repo, opts.pipelineFiles ?? [], spec?.files ?? [])) setOwn(files, f, fileRecord(repo, f));
  } catch (e) {
    setOwn(files, '.', { error: messageOf(e) });
  }
  await Promise.all(jobs);
  rec['tools'] = sortedObject(tools);
  if (Object.keys(files).length) rec['files'] = sortedObject(files);
  if (Object.keys(probes).length) rec['probes'] = sortedObject(probes);
  return rec;
}

function sortedObject(o: Record<string, unknown>): Record<string, unknown> {
  const res: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort(compareStrings)) setOwn(res, k, o[k]);
  return res;
}

function gpuOf(out: string): unknown {
  const gpus = out.split('\n').filter((l) => l.trim()).map((l) => {
    const [name, driver] = l.split(',').map((x) => x.trim());
    return { name: name ?? '', driver: driver ?? '' };
  });
  return { count: gpus.length, ...(gpus[0] ? { name: gpus[0].name, driver: gpus[0].driver } : {}) };
}

/** Repository paths of the environment files found, and of those the project lists. */
function environmentFiles(repo: Repo, pipelineFiles: readonly string[], listed: readonly string[]): string[] {
  const found = new Set<string>(listed);
  const dirs = new Set<string>(['.', ...pipelineFiles.map(pipelineDirOf)]);
  for (const d of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(repo.root, d));
    } catch {
      continue;
    }
    for (const n of names) if (ENV_FILE_RE.test(n)) found.add(d === '.' ? n : `${d}/${n}`);
  }
  return [...found].sort(compareStrings);
}

function fileRecord(repo: Repo, rel: string): unknown {
  const abs = path.join(repo.root, rel);
  try {
    const st = fs.statSync(abs);
    if (!st.isFile()) return { error: 'not a file' };
    if (st.size > MAX_HASHED_FILE) return { size: st.size };
    return hashFile(repo.odb.algo, abs);
  } catch (e) {
    return { error: messageOf(e) };
  }
}

/** The trimmed output of a program, or `{error}` when it fails, cannot start or outlives the timeout. */
function probe(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let timedOut = false;
    let child;
    try {
      child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ error: messageOf(e) });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      if (out.length < 4 * MAX_PROBE_OUTPUT) out += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 4 * MAX_PROBE_OUTPUT) err += b.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: messageOf(e) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ error: `timed out after ${timeoutMs / 1000} s` });
      else if (code !== 0) resolve({ error: `${signal ? `killed by ${signal}` : `exit ${code}`}${err.trim() ? `: ${clip(err.trim())}` : ''}` });
      // python 2 wrote its version to stderr
      else resolve(clip((out.trim() || err.trim())));
    });
  });
}

function clip(s: string): string {
  return s.length > MAX_PROBE_OUTPUT ? `${s.slice(0, MAX_PROBE_OUTPUT)}…` : s;
}

function onPath(prog: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const d of (env['PATH'] ?? '').split(path.delimiter)) {
    if (!d) continue;
    const f = path.join(d, prog);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The interpreter a pyenv shim would run from `cwd`, found the way pyenv documents it
 * (PYENV_VERSION, else the nearest `.python-version` up from `cwd`, else `$PYENV_ROOT/version`),
 * or undefined when `file` is not a pyenv shim or the choice is not a plain installed version
 * (then the shim itself is run). Starting the shim costs ~80 ms of bash and pyenv; the
 * interpreter it picks answers `--version` in a few.
 */
export function pastPyenvShim(file: string, cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  let head: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(1024);
      head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (!head.startsWith('#!') || !/pyenv"? exec /.test(head)) return undefined;
  const root = /export PYENV_ROOT="([^"]+)"/.exec(head)?.[1] ?? env['PYENV_ROOT'];
  if (!root) return undefined;
  let version = env['PYENV_VERSION']?.split(':')[0]?.trim();
  if (!version) {
    for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
      version = firstWord(path.join(dir, '.python-version'));
      if (version !== undefined || path.dirname(dir) === dir) break;
    }
  }
  version ??= firstWord(path.join(root, 'version'));
  if (!version || version === 'system' || !/^[\w.+-]+$/.test(version)) return undefined;
  const bin = path.join(root, 'versions', version, 'bin', path.basename(file));
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    return bin;
  } catch {
    return undefined;
  }
}

/** The first word of a version file that is not a comment, or undefined when there is none. */
function firstWord(file: string): string | undefined {
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const w = line.trim().split(/\s+/)[0];
      if (w && !w.startsWith('#')) return w;
    }
  } catch {
    // no such file
  }
  return undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
