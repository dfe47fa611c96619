import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireLock } from '../../src/fsutil/lockfile.js';

const dirs: string[] = [];
const kids: ChildProcess[] = [];
afterAll(() => {
  for (const k of kids) k.kill('SIGKILL');
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

/** Above the kernel's maximum PID (2^22), so no process has it. */
const DEAD = 2 ** 22 + 4321;

function lockWith(groups: number[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-lock-'));
  dirs.push(dir);
  const file = path.join(dir, 'lock');
  fs.writeFileSync(file, JSON.stringify({ pid: DEAD, host: os.hostname(), command: 'rvc repro', started: 'then', groups }));
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('locks of a dead holder whose stage commands may live on', () => {
  it('stay held while a process group the holder started runs', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    kids.push(child);
    await sleep(50);
    const file = lockWith([child.pid!]);
    await expect(acquireLock(file, { command: 'test', waitMs: 0 })).rejects.toMatchObject({ code: 'LOCKED' });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const release = await acquireLock(file, { command: 'test', waitMs: 0 });
    release();
  });

  it.skipIf(!fs.existsSync('/proc/self/stat'))('are stale once the group holds only zombies (exited, never reaped)', async () => {
    // perl forks a child into its own group; the child exits and perl never reaps it.
    const parent = spawn('perl', ['-e', '$| = 1; my $p = fork(); if ($p == 0) { setpgrp(0, 0); exit 0 } print "$p\\n"; sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    kids.push(parent);
    const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (b: Buffer) => resolve(Number(String(b).trim()))));
    await sleep(200);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    expect(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]).toBe('Z');
    const release = await acquireLock(lockWith([pid]), { command: 'test', waitMs: 0 });
    release();
  });
});

describe('a process killed while taking a lock', () => {
  it('leaves a temp lock file that the next holder removes (there was no lock to find it by)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-lock-'));
    dirs.push(dir);
    const file = path.join(dir, 'lock');
    const leftover = path.join(dir, `.lock.${DEAD}.0000abcd.tmp`);
    fs.writeFileSync(leftover, JSON.stringify({ pid: DEAD, host: os.hostname(), command: 'rvc add', started: 'then' }));
    const release = await acquireLock(file, { command: 'test', waitMs: 0 });
    expect(fs.existsSync(leftover)).toBe(false);
    release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
