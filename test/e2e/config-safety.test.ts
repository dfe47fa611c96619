/**
 * Repositories that must keep working: after `rvc remove`, with a configuration someone broke,
 * with secrets in the configuration, with data-sized inputs, and with targets that name nothing.
 */
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';

const made: string[] = [];
function repo(): string {
  const d = makeRepo();
  made.push(d);
  return d;
}
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

describe('rvc remove', () => {
  it('stops tracking in the workspace at once: every command works before the deletion is committed to git', () => {
    const d = repo();
    const store = tmpDir('rvc-store-');
    made.push(store);
    writeTree(d, { 'keep/a': 'a\n', 'gone.txt': 'gone\n' });
    rvcOk(d, ['add', 'keep', 'gone.txt']);
    rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'data']);

    const r = rvcOk(d, ['remove', 'gone.txt.rvc']);
    expect(fs.existsSync(path.join(d, 'gone.txt.rvc'))).toBe(false);
    // rvc leaves git's index alone and says how to record the removal.
    expect(git(d, ['ls-files', 'gone.txt.rvc']).trim()).toBe('gone.txt.rvc');
    expect(r.stdout).toMatch(/git add \.gitignore gone\.txt\.rvc/);

    const st = JSON.parse(rvcOk(d, ['status', '--json']).stdout) as unknown;
    expect(JSON.stringify(st)).not.toContain('gone.txt');
    rvcOk(d, ['checkout']);
    rvcOk(d, ['push']);
    const gc = rvcOk(d, ['gc', '-w', '--json']);
    expect(JSON.parse(gc.stdout).removed).toHaveLength(1); // the removed file's object
    expect(fs.readFileSync(path.join(d, 'gone.txt'), 'utf8')).toBe('gone\n');
    rvcOk(d, ['add', 'gone.txt']);
    expect(fs.existsSync(path.join(d, 'gone.txt.rvc'))).toBe(true);

    // The suggested command records the removal.
    rvcOk(d, ['remove', 'gone.txt.rvc']);
    git(d, ['add', '.gitignore', 'gone.txt.rvc']);
    expect(git(d, ['status', '--porcelain', '--', 'gone.txt.rvc'])).toMatch(/^D {2}gone\.txt\.rvc/);
    rvcOk(d, ['status']);
  });
});
