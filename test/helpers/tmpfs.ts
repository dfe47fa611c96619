import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const isRoot = process.getuid?.() === 0;

/**
 * Mounts a tmpfs of `sizeMb` MiB on a new temporary folder: a second, small filesystem for the
 * tests that need one (a disk that fills, a cache on another device). Only root can; otherwise,
 * or when the mount fails, the reason to print when skipping. The caller unmounts it.
 */
export function tryMountTmpfs(sizeMb: number): { dir?: string; reason?: string } {
  if (!isRoot) return { reason: 'not running as root, so no tmpfs can be mounted' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (e) {
    fs.rmdirSync(dir);
    return { reason: `mount -t tmpfs failed: ${(e as Error).message.split('\n')[0]}` };
  }
}
