import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { rvc, rvcOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir } from '../helpers/cli.js';
import { parsePointer } from '../../src/model/pointer.js';
import { parseTree } from '../../src/model/tree.js';

/** `rvc install`: git hooks that run rvc checkout / rvc push, and the merge driver for .rvc and rvc.lock. */

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

/** Runs git without throwing, for commands expected to fail (a conflicted merge). */
function gitRun(cwd: string, args: string[]): { code: number; out: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function pointerTree(dir: string, pointer: string): Record<string, string> {
  const out = parsePointer(fs.readFileSync(path.join(dir, pointer), 'utf8'), pointer).outs[0]!;
  const text = fs.readFileSync(path.join(dir, '.rvc/cache', out.hash, out.oid.slice(0, 2), out.oid.slice(2)), 'utf8');
  return Object.fromEntries(parseTree(text, out.hash, out.oid).map((e) => [e.path, e.oid]));
}

const HOOKS = ['post-checkout', 'post-merge', 'pre-push'];

describe('rvc install', () => {
  it('writes hooks, the merge driver and .gitattributes; is idempotent; never clobbers a foreign hook; uninstalls only its own', () => {
    const dir = track(makeRepo());
    writeTree(dir, { '.gitattributes': '*.png binary' }); // no final newline: must be kept
    const r = JSON.parse(rvcOk(dir, ['install', '--json']).stdout);
    expect(r.hooks.map((h: { action: string }) => h.action)).toEqual(['installed', 'installed', 'installed']);
    for (const h of HOOKS) {
      const f = path.join(dir, '.git/hooks', h);
      expect(fs.statSync(f).mode & 0o111).not.toBe(0);
      expect(fs.readFileSync(f, 'utf8')).toContain(`git-hook ${h}`);
    }
    expect(git(dir, ['config', '--get', 'merge.rvc.driver'])).toContain('merge-driver %O %A %B %P');
    expect(fs.readFileSync(path.join(dir, '.gitattributes'), 'utf8')).toBe('*.png binary\n*.rvc merge=rvc\nrvc.lock merge=rvc\n');
    expect(git(dir, ['check-attr', 'merge', '--', 'data.rvc', 'sub/rvc.lock']))
      .toBe('data.rvc: merge: rvc\nsub/rvc.lock: merge: rvc\n');

    const snapshot = (): string[] => [...HOOKS.map((h) => fs.readFileSync(path.join(dir, '.git/hooks', h), 'utf8')),
      fs.readFileSync(path.join(dir, '.gitattributes'), 'utf8'), fs.readFileSync(path.join(dir, '.git/config'), 'utf8')];
    const before = snapshot();
    const again = JSON.parse(rvcOk(dir, ['install', '--json']).stdout);
    expect(again.hooks.map((h: { action: string }) => h.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(again.mergeDriver).toBe('unchanged');
    expect(snapshot()).toEqual(before);

    // A hook someone else wrote: refused with its path and a hint; nothing changes.
    rvcOk(dir, ['install', '--uninstall']);
    expect(fs.existsSync(path.join(dir, '.gitattributes'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, '.gitattributes'), 'utf8')).toBe('*.png binary\n');
    const mine = '#!/bin/sh\necho mine\n';
    fs.writeFileSync(path.join(dir, '.git/hooks/pre-push'), mine, { mode: 0o755 });
    const refused = rvc(dir, ['install', '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('HOOK_EXISTS');
    expect(refused.stderr).toContain('pre-push');
    expect(refused.stderr).toContain('hint: ');
    expect(fs.existsSync(path.join(dir, '.git/hooks/post-checkout'))).toBe(false);
    expect(gitRun(dir, ['config', '--get', 'merge.rvc.driver']).code).toBe(1);

    // Uninstall leaves the foreign hook alone.
    fs.rmSync(path.join(dir, '.git/hooks/pre-push'));
    rvcOk(dir, ['install']);
    fs.writeFileSync(path.join(dir, '.git/hooks/pre-push'), mine, { mode: 0o755 });
    const u = JSON.parse(rvcOk(dir, ['install', '--uninstall', '--json']).stdout);
    expect(u.hooks.map((h: { action: string }) => h.action)).toEqual(['removed', 'removed', 'foreign']);
    expect(fs.readFileSync(path.join(dir, '.git/hooks/pre-push'), 'utf8')).toBe(mine);
  });

  it('writes into core.hooksPath when it is set', () => {
    const dir = track(makeRepo());
    git(dir, ['config', 'core.hooksPath', 'githooks']);
    rvcOk(dir, ['install', '-q']);
    for (const h of HOOKS) expect(fs.existsSync(path.join(dir, 'githooks', h))).toBe(true);
    expect(fs.existsSync(path.join(dir, '.git/hooks/post-checkout'))).toBe(false);
  });
});

describe('git hooks', () => {
  it('post-checkout updates the data on a branch switch; pre-push pushes the data to the default remote', () => {
    const dir = track(makeRepo());
    const bare = track(tmpDir('rvc-bare-'));
    const store = track(tmpDir('rvc-store-'));
    git(bare, ['init', '-q', '--bare']);
    rvcOk(dir, ['install', '-q']);
    writeTree(dir, { 'data/a.txt': 'v1 a\n', 'data/b.txt': 'v1 b\n' });
    rvcOk(dir, ['add', '-q', 'data']);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'v1']);
    git(dir, ['checkout', '-q', '-b', 'v2']);
    writeTree(dir, { 'data/a.txt': 'v2 a\n', 'data/c.txt': 'v2 c\n' });
    fs.rmSync(path.join(dir, 'data/b.txt'));
    rvcOk(dir, ['add', '-q', 'data']);
    git(dir, ['commit', '-q', '-am', 'v2']);

    git(dir, ['checkout', '-q', 'main']);
    expect(readTree(path.join(dir, 'data'))).toEqual({ 'a.txt': 'v1 a\n', 'b.txt': 'v1 b\n' });
    git(dir, ['checkout', '-q', 'v2']);
    expect(readTree(path.join(dir, 'data'))).toEqual({ 'a.txt': 'v2 a\n', 'c.txt': 'v2 c\n' });

    // No default rvc remote: the push goes through, with a notice.
    git(dir, ['remote', 'add', 'origin', bare]);
    const noRemote = gitRun(dir, ['push', '-q', 'origin', 'main']);
    expect(noRemote.code).toBe(0);
    expect(noRemote.out).toContain('no default rvc remote');

    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    git(dir, ['commit', '-q', '-am', 'remote']);
    const pushed = gitRun(dir, ['push', 'origin', 'v2']);
    expect(pushed.code, pushed.out).toBe(0);
    expect(pushed.out).toContain('pushed to \'store\'');
    const onRemote = (oid: string): boolean => fs.existsSync(path.join(store, 'blake3', oid.slice(0, 2), oid.slice(2)));
    const out = parsePointer(fs.readFileSync(path.join(dir, 'data.rvc'), 'utf8'), 'data.rvc').outs[0]!;
    expect(onRemote(out.oid)).toBe(true);
    for (const oid of Object.values(pointerTree(dir, 'data.rvc'))) expect(onRemote(oid)).toBe(true);
    expect(git(bare, ['rev-parse', 'v2'])).toBe(git(dir, ['rev-parse', 'v2']));

    // The data of the commits being pushed goes too, not only the workspace's: pushing a branch
    // at v1 (while v2 is checked out) uploads v1's objects.
    const v1Tree = parsePointer(git(dir, ['show', 'main:data.rvc']), 'data.rvc').outs[0]!.oid;
    expect(onRemote(v1Tree)).toBe(false);
    git(dir, ['branch', 'old', 'main']);
    const pushedOld = gitRun(dir, ['push', 'origin', 'old']);
    expect(pushedOld.code, pushedOld.out).toBe(0);
    expect(onRemote(v1Tree)).toBe(true);
    expect(onRemote(parsePointer(fs.readFileSync(path.join(dir, 'data.rvc'), 'utf8'), 'data.rvc').outs[0]!.oid)).toBe(true);

    // When the data cannot be pushed, neither are the commits.
    rvcOk(dir, ['remote', 'modify', 'store', 'url', '/dev/null/not-a-folder']);
    writeTree(dir, { 'data/d.txt': 'v3\n' });
    rvcOk(dir, ['add', '-q', 'data']);
    git(dir, ['commit', '-q', '-am', 'v3']);
    const blocked = gitRun(dir, ['push', 'origin', 'v2']);
    expect(blocked.code).not.toBe(0);
    expect(blocked.out).toContain('git push --no-verify');
    expect(git(bare, ['rev-parse', 'v2'])).not.toBe(git(dir, ['rev-parse', 'v2']));
  });
});

describe('merge driver', () => {
  /** A repository with data/ tracked and the driver installed, on branch main. */
  function mergeRepo(): string {
    const dir = track(makeRepo());
    rvcOk(dir, ['install', '-q']);
    writeTree(dir, { 'data/common.txt': 'base\n', 'data/shared.txt': 'base shared\n' });
    rvcOk(dir, ['add', '-q', 'data']);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'base']);
    return dir;
  }

  function onBranch(dir: string, branch: string, files: Record<string, string | Buffer>, remove: string[] = []): void {
    git(dir, ['checkout', '-q', branch]);
    writeTree(dir, files);
    for (const f of remove) fs.rmSync(path.join(dir, f));
    rvcOk(dir, ['add', '-q', 'data']);
    git(dir, ['commit', '-q', '-am', `change on ${branch}`]);
  }

  it('merges two branches that added different files to one folder; the merged data checks out byte-exact', () => {
    const dir = mergeRepo();
    git(dir, ['branch', 'feature']);
    const binary = Buffer.from([0, 1, 2, 255, 10]);
    const ours = { 'data/ours/1.csv': 'o1\n', 'data/ours/2.csv': binary };
    const theirs = { 'data/theirs/1.csv': 't1\n', 'data/shared.txt': 'changed by theirs\n' };
    onBranch(dir, 'feature', theirs);
    onBranch(dir, 'main', ours, ['data/common.txt']);
    const m = gitRun(dir, ['merge', '--no-edit', 'feature']);
    expect(m.code, m.out).toBe(0);
    expect(Object.keys(pointerTree(dir, 'data.rvc')).sort()).toEqual(['ours/1.csv', 'ours/2.csv', 'shared.txt', 'theirs/1.csv']);
    expect(git(dir, ['status', '--porcelain'])).toBe('');
    // The post-merge hook already ran `rvc checkout`; remove the data and check out again to be sure.
    const expected = { 'ours/1.csv': 'o1\n', 'ours/2.csv': binary.toString('latin1'), 'shared.txt': 'changed by theirs\n', 'theirs/1.csv': 't1\n' };
    expect(readTree(path.join(dir, 'data'))).toEqual(expected);
    rmrf(path.join(dir, 'data'));
    rvcOk(dir, ['checkout']);
    expect(readTree(path.join(dir, 'data'))).toEqual(expected);
    expect(JSON.parse(rvcOk(dir, ['status', '--json']).stdout)).toMatchObject({ clean: true });
  });

  it('fetches a manifest missing from the cache from the default remote, and conflicts with a message without one', () => {
    const dir = mergeRepo();
    const store = track(tmpDir('rvc-store-'));
    git(dir, ['branch', 'feature']);
    onBranch(dir, 'feature', { 'data/t.txt': 't\n' });
    rvcOk(dir, ['remote', 'add', 'store', store]);
    rvcOk(dir, ['push', '-q', '-r', 'store']);
    const theirs = parsePointer(fs.readFileSync(path.join(dir, 'data.rvc'), 'utf8'), 'data.rvc').outs[0]!.oid;
    onBranch(dir, 'main', { 'data/o.txt': 'o\n' });
    fs.rmSync(path.join(dir, '.rvc/cache/blake3', theirs.slice(0, 2), theirs.slice(2)));

    const c = gitRun(dir, ['merge', '--no-edit', 'feature']);
    expect(c.code).not.toBe(0);
    expect(c.out).toContain(`the theirs manifest of data (${theirs}) is not in the cache and no default remote is set`);
    git(dir, ['merge', '--abort']);

    rvcOk(dir, ['remote', 'default', 'store']);
    git(dir, ['commit', '-q', '-am', 'default remote']);
    const m = gitRun(dir, ['merge', '--no-edit', 'feature']);
    expect(m.code, m.out).toBe(0);
    expect(Object.keys(pointerTree(dir, 'data.rvc')).sort()).toEqual(['common.txt', 'o.txt', 'shared.txt', 't.txt']);
  });

  it('reports a conflict naming the pointer (git) and the file (rvc) when both sides changed one file, and keeps ours', () => {
    const dir = mergeRepo();
    git(dir, ['branch', 'feature']);
    onBranch(dir, 'feature', { 'data/shared.txt': 'theirs\n', 'data/t.txt': 't\n' });
    onBranch(dir, 'main', { 'data/shared.txt': 'ours\n', 'data/o.txt': 'o\n' }, ['data/common.txt']);
    const before = fs.readFileSync(path.join(dir, 'data.rvc'), 'utf8');
    const m = gitRun(dir, ['merge', '--no-edit', 'feature']);
    expect(m.code).not.toBe(0);
    expect(m.out).toContain('CONFLICT (content): Merge conflict in data.rvc');
    expect(m.out).toContain('data/shared.txt changed differently on both sides');
    expect(m.out).not.toContain('data/t.txt');
    expect(fs.readFileSync(path.join(dir, 'data.rvc'), 'utf8')).toBe(before);
    expect(git(dir, ['status', '--porcelain'])).toContain('UU data.rvc');
    git(dir, ['merge', '--abort']);

    // Deleted on one side, changed on the other: a conflict too.
    git(dir, ['checkout', '-q', '-b', 'del', 'HEAD~1']);
    onBranch(dir, 'del', {}, ['data/shared.txt']);
    const d = gitRun(dir, ['merge', '--no-edit', 'feature']);
    expect(d.code).not.toBe(0);
    expect(d.out).toContain('data/shared.txt deleted on our side, changed on theirs');
  });

  it('merges rvc.lock stage by stage; the same stage changed on both sides conflicts', () => {
    const dir = track(makeRepo());
    rvcOk(dir, ['install', '-q']);
    const oid = (c: string): string => `a${c}`.repeat(32);
    const entry = (c: string): string => `    deps:\n      - path: in\n        hash: blake3\n        oid: ${oid(c)}\n        size: 1\n`;
    const lock = (stages: Record<string, string>): string =>
      `schema: "1.0"\nstages:\n${Object.entries(stages).map(([n, c]) => `  ${n}:\n    cmd: run ${n}\n${entry(c)}`).join('')}`;
    const commit = (branch: string, stages: Record<string, string>): void => {
      git(dir, ['checkout', '-q', branch]);
      fs.writeFileSync(path.join(dir, 'rvc.lock'), lock(stages));
      git(dir, ['add', 'rvc.lock']);
      git(dir, ['commit', '-q', '-m', `lock on ${branch}`]);
    };
    commit('main', { prep: '1', train: '1', eval: '1' });
    git(dir, ['branch', 'feature']);
    git(dir, ['branch', 'clash']);
    commit('feature', { prep: '2', train: '1', eval: '1' });
    commit('main', { prep: '1', train: '3', eval: '1' });
    const m = gitRun(dir, ['merge', '--no-edit', 'feature']);
    expect(m.code, m.out).toBe(0);
    const merged = fs.readFileSync(path.join(dir, 'rvc.lock'), 'utf8');
    expect(merged).toContain(`oid: ${oid('2')}`); // prep from feature
    expect(merged).toContain(`oid: ${oid('3')}`); // train from main
    expect(merged.indexOf('eval:')).toBeLessThan(merged.indexOf('prep:')); // canonical: sorted stages

    commit('clash', { prep: '1', train: '4', eval: '1' });
    git(dir, ['checkout', '-q', 'main']);
    const c = gitRun(dir, ['merge', '--no-edit', 'clash']);
    expect(c.code).not.toBe(0);
    expect(c.out).toContain('Merge conflict in rvc.lock');
    expect(c.out).toContain("stage 'train' changed differently on both sides");
    expect(c.out).toContain('rvc repro');
  });
});
