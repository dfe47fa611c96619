import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, git, makeRepo, rmrf, rvcOk, tmpDir, writeTree } from '../helpers/cli.js';

// The built library, as the CLI uses it.
const { History } = (await import(path.join(ROOT, 'dist/repo/history.js'))) as typeof import('../../src/repo/history.js');
const { GitCatFile } = (await import(path.join(ROOT, 'dist/scm/catfile.js'))) as typeof import('../../src/scm/catfile.js');

const made: string[] = [];
afterAll(() => made.forEach(rmrf));

function commit(dir: string, msg: string): string {
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', msg]);
  return git(dir, ['rev-parse', 'HEAD']).trim();
}

describe('reading rvc files at git revisions', () => {
  it('reads pointers and rvc.lock outs at each commit, branch and tag without a checkout', async () => {
    const dir = makeRepo();
    made.push(dir);
    writeTree(dir, { 'data/a': 'a1', 'model.bin': 'm1' });
    rvcOk(dir, ['add', 'data', 'model.bin']);
    const c1 = commit(dir, 'v1');
    git(dir, ['tag', '-a', 'v1', '-m', 'annotated']);
    writeTree(dir, { 'data/b': 'b2' });
    rvcOk(dir, ['add', 'data']);
    fs.writeFileSync(path.join(dir, 'rvc.lock'), 'schema: "1.0"\nstages:\n  s:\n    cmd: echo\n    outs:\n      - path: out/x\n        hash: blake3\n        oid: ' + 'ab'.repeat(32) + '\n        size: 3\n');
    const c2 = commit(dir, 'v2');
    git(dir, ['checkout', '-q', '-b', 'side', c1]);
    writeTree(dir, { 'model.bin': 'm-side' });
    rvcOk(dir, ['add', 'model.bin']);
    const c3 = commit(dir, 'side');
    git(dir, ['checkout', '-q', 'main']);
    const headBefore = git(dir, ['rev-parse', 'HEAD']);
    const statusBefore = git(dir, ['status', '--porcelain']);

    const h = new History(dir);
    try {
      expect(new Set(h.resolveScope({ allBranches: true }).keys())).toEqual(new Set([c2, c3]));
      expect([...h.resolveScope({ allTags: true }).entries()]).toEqual([[c1, 'v1']]);
      expect(new Set(h.resolveScope({ allCommits: true }).keys())).toEqual(new Set([git(dir, ['rev-list', '--all']).trim().split('\n')].flat()));
      const at1 = await h.outsAt(c1);
      expect(at1.map((o) => o.rel).sort()).toEqual(['data', 'model.bin']);
      const at2 = await h.outsAt(c2);
      expect(at2.map((o) => `${o.rel}:${o.kind === 'stage'}`).sort()).toEqual(['data:false', 'model.bin:false', 'out/x:true']);
      expect(at2.find((o) => o.rel === 'data')!.out.nfiles).toBe(2);
      const side = await h.outsAt(c3);
      expect(side.find((o) => o.rel === 'model.bin')!.out.oid).not.toBe(at1.find((o) => o.rel === 'model.bin')!.out.oid);
      expect((await h.readFile(c1, 'data.rvc'))!.toString()).toContain('nfiles: 1');
      expect(await h.readFile(c1, 'no/such/file')).toBeUndefined();
      expect(() => h.resolve('no-such-branch')).toThrow(expect.objectContaining({ code: 'REV_NOT_FOUND' }));
      expect(() => h.resolve('--output=/tmp/x')).toThrow(expect.objectContaining({ code: 'REV_NOT_FOUND' }));
    } finally {
      h.close();
    }
    expect(git(dir, ['rev-parse', 'HEAD'])).toBe(headBefore);
    expect(git(dir, ['status', '--porcelain'])).toBe(statusBefore);
  });

  it('works when the rvc repository is a sub-folder of the git work tree', async () => {
    const top = tmpDir();
    made.push(top);
    git(top, ['init', '-q', '-b', 'main']);
    git(top, ['config', 'user.email', 't@example.com']);
    git(top, ['config', 'user.name', 't']);
    const sub = path.join(top, 'proj');
    fs.mkdirSync(sub);
    rvcOk(sub, ['init']);
    writeTree(top, { 'other.rvc': 'not: ours\n', 'proj/d/f': 'x' });
    rvcOk(sub, ['add', 'd']);
    const c = commit(top, 'one');
    const h = new History(sub);
    try {
      const outs = await h.outsAt(c);
      expect(outs.map((o) => [o.file, o.rel])).toEqual([['d.rvc', 'd']]);
      expect((await h.readFile(c, 'd.rvc'))!.toString()).toContain('path: d');
    } finally {
      h.close();
    }
  });

  it('names the revision and file of a pointer that does not parse', async () => {
    const dir = makeRepo();
    made.push(dir);
    fs.writeFileSync(path.join(dir, 'bad.rvc'), 'outs: [{path: ../x, hash: blake3, oid: 00, size: 1}]\n');
    const c = commit(dir, 'bad');
    const h = new History(dir);
    try {
      await expect(h.outsAt(c, 'main')).rejects.toMatchObject({ code: expect.stringMatching(/POINTER_INVALID|PATH_UNSAFE|PATH/), message: expect.stringContaining('main:bad.rvc') });
    } finally {
      h.close();
    }
  });

  it('answers many pipelined reads from one git process, in order', async () => {
    const dir = makeRepo();
    made.push(dir);
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`f${i}.txt`] = `content ${i}\n`.repeat(i % 7 + 1);
    writeTree(dir, files);
    const c = commit(dir, 'many');
    const cat = new GitCatFile(dir);
    try {
      const reads = await Promise.all(Object.keys(files).map((f) => cat.read(`${c}:${f}`)));
      reads.forEach((o, i) => expect(o!.data.toString()).toBe(files[`f${i}.txt`]));
      expect(await cat.read(`${c}:missing`)).toBeUndefined();
      expect((await cat.read(c))!.type).toBe('commit');
    } finally {
      cat.close();
    }
  });
});
