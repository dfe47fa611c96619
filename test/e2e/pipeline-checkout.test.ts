import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf } from '../helpers/cli.js';

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

describe('rvc checkout and pipeline outputs', () => {
  it('git checkout of an older commit + rvc checkout brings back that commit\'s stage outputs', () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, { 'in.txt': 'one\n' });
    rvcOk(d, ['stage', 'add', '-n', 'copy', '-d', 'in.txt', '-o', 'out.txt', 'cp in.txt out.txt']);
    rvcOk(d, ['repro']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'v1']);
    writeTree(d, { 'in.txt': 'two\n' });
    rvcOk(d, ['repro']);
    git(d, ['commit', '-q', '-am', 'v2']);
    expect(fs.readFileSync(path.join(d, 'out.txt'), 'utf8')).toBe('two\n');

    git(d, ['checkout', '-q', 'HEAD~1']);
    rvcOk(d, ['checkout']);
    expect(fs.readFileSync(path.join(d, 'out.txt'), 'utf8')).toBe('one\n');
    git(d, ['checkout', '-q', 'main']);
    rvcOk(d, ['checkout']);
    expect(fs.readFileSync(path.join(d, 'out.txt'), 'utf8')).toBe('two\n');

    // An output edited by hand is unsaved work: checkout reports it and keeps it unless --force.
    fs.writeFileSync(path.join(d, 'out.txt'), 'hand edit\n');
    const r = rvc(d, ['checkout']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/out\.txt/);
    expect(fs.readFileSync(path.join(d, 'out.txt'), 'utf8')).toBe('hand edit\n');
    rvcOk(d, ['checkout', '--force']);
    expect(fs.readFileSync(path.join(d, 'out.txt'), 'utf8')).toBe('two\n');
  });
});
