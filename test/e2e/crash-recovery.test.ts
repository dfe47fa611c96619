/**
 * What a killed rvc leaves behind is cleared by the next command: its lock, and the temp files
 * it was writing (a partial copy of a large file beside the data, a partial object in the
 * cache's transient folder, a half-written pointer's temp). Temp files of a live process are
 * never touched. The kill loops in test/stress/ exercise the same paths with real kills.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { RVC_BIN, git, makeRepo, rmrf, rvcOk, writeTree } from '../helpers/cli.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmrf(d)));
function repo(): string {
  const d = makeRepo();
  made.push(d);
  return d;
}

/** Above the kernel's maximum PID (2^22), so no process has it. */
const DEAD = 2 ** 22 + 4321;
const temp = (name: string, pid: number, n: number): string => `.${name}.${pid}.beef${String(n).padStart(4, '0')}.tmp`;

function staleLock(d: string): void {
  fs.writeFileSync(path.join(d, '.rvc/tmp/lock'), JSON.stringify({ pid: DEAD, host: os.hostname(), command: 'rvc checkout', started: 'then' }));
}

describe('recovery from a killed rvc', () => {
  it('checkout after a kill removes the dead process\'s temp files everywhere and keeps a live one\'s', () => {
    const d = repo();
    writeTree(d, { 'data/a.txt': 'a', 'data/sub/b.txt': 'b', 'model.bin': 'weights' });
    rvcOk(d, ['add', 'data', 'model.bin']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'data']);
    const shard = fs.readdirSync(path.join(d, '.rvc/cache/blake3'))[0]!;
    const dead = [
      temp('model.bin', DEAD, 1), // a partial copy of a large file beside it
      `data/${temp('a.txt', DEAD, 2)}`,
      `data/sub/${temp('b.txt', DEAD, 3)}`,
      temp('data.rvc', DEAD, 4), // a pointer being replaced
      temp('.gitignore', DEAD, 5),
      `.rvc/cache/tmp/${temp('object', DEAD, 6)}`,
      `.rvc/cache/blake3/${shard}/${temp('0123abcd', DEAD, 7)}`,
      `.rvc/tmp/${temp('lock', DEAD, 8)}`,
    ];
    const live = [temp('model.bin', process.pid, 9), `data/${temp('a.txt', process.pid, 10)}`, `.rvc/cache/tmp/${temp('object', process.pid, 11)}`];
    fs.mkdirSync(path.join(d, '.rvc/cache/tmp'), { recursive: true });
    for (const f of [...dead, ...live]) fs.writeFileSync(path.join(d, f), 'partial');
    staleLock(d);
    fs.rmSync(path.join(d, 'model.bin'));
    rvcOk(d, ['checkout'], { RVC_LOCK_WAIT: '0' });
    expect(dead.filter((f) => fs.existsSync(path.join(d, f)))).toEqual([]);
    expect(live.filter((f) => !fs.existsSync(path.join(d, f)))).toEqual([]);
    expect(fs.readFileSync(path.join(d, 'model.bin'), 'utf8')).toBe('weights');
    expect(fs.existsSync(path.join(d, '.rvc/tmp/lock'))).toBe(false);
    // Nothing of the dead process shows up for git to commit by accident.
    expect(git(d, ['status', '--porcelain', '--untracked-files=all']).split('\n').filter((l) => l.includes(String(DEAD)))).toEqual([]);
  });

  it('without a stale lock, checkout still clears leftovers inside a tracked folder', () => {
    const d = repo();
    writeTree(d, { 'data/a.txt': 'a' });
    rvcOk(d, ['add', 'data']);
    const left = path.join(d, 'data', temp('a.txt', DEAD, 1));
    fs.writeFileSync(left, 'partial');
    fs.writeFileSync(path.join(d, 'data/a.txt'), 'edited');
    rvcOk(d, ['checkout', '--force']);
    expect(fs.existsSync(left)).toBe(false);
  });

  it('a partial large object from a killed add is removed by the next add, not left in the cache\'s temp folder', () => {
    const d = repo();
    writeTree(d, { 'big.bin': Buffer.alloc(5 << 20, 7) });
    const objects = path.join(d, '.rvc/cache/tmp');
    fs.mkdirSync(objects, { recursive: true });
    fs.writeFileSync(path.join(objects, temp('object', DEAD, 1)), Buffer.alloc(1 << 20));
    fs.writeFileSync(path.join(objects, temp('fetch-0123456789abcdef', DEAD, 2)), 'partial download');
    rvcOk(d, ['add', 'big.bin']);
    expect(fs.readdirSync(objects)).toEqual([]);
  });

  it('gc removes a dead writer\'s temp file from the cache but never a live one\'s', () => {
    const d = repo();
    writeTree(d, { 'f.txt': 'f' });
    rvcOk(d, ['add', 'f.txt']);
    const shardDir = path.join(d, '.rvc/cache/blake3', fs.readdirSync(path.join(d, '.rvc/cache/blake3'))[0]!);
    const dead = path.join(shardDir, temp('aa', DEAD, 1));
    const live = path.join(shardDir, temp('bb', process.pid, 2));
    fs.writeFileSync(dead, 'x');
    fs.writeFileSync(live, 'y');
    const r = JSON.parse(rvcOk(d, ['gc', '--workspace', '--json']).stdout) as { leftovers: number };
    expect(r.leftovers).toBe(1);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });

  it('a stage command orphaned by a killed repro keeps its outputs locked until it ends', async () => {
    const d = repo();
    // Each run logs when it starts and ends (ns); the end lands 2 s after the start.
    writeTree(d, { 'rvc.yaml': 'stages:\n  slow:\n    cmd: date +%s%N >> starts; sleep 2; date +%s%N >> ends; echo done > out.txt\n    outs:\n      - out.txt\n' });
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'pipeline']);
    const first = spawn(process.execPath, [RVC_BIN, 'repro'], { cwd: d, stdio: 'ignore' });
    const startedAt = Date.now();
    while (!fs.existsSync(path.join(d, 'starts')) && Date.now() - startedAt < 20_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    // The stage's shell lives on in its own process group; a re-run must wait for it.
    const rerun = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [RVC_BIN, 'repro'], { cwd: d, env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      c.on('close', (code) => resolve({ code, stderr }));
    });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain('waiting for');
    const starts = fs.readFileSync(path.join(d, 'starts'), 'utf8').trim().split('\n').map(BigInt);
    const ends = fs.readFileSync(path.join(d, 'ends'), 'utf8').trim().split('\n').map(BigInt);
    expect(starts).toHaveLength(2);
    expect(ends).toHaveLength(2);
    // The re-run's command started only after the orphan's ended.
    expect(starts[1]! >= ends[0]!).toBe(true);
    expect(fs.readFileSync(path.join(d, 'out.txt'), 'utf8')).toBe('done\n');
    expect(fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8')).toContain('slow:');
  }, 60_000);
});
