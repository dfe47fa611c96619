import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, makeRepo, writeTree, readTree, rmrf, git } from '../helpers/cli.js';

/**
 * A path is recorded once — by one pointer or as one stage's output — and never inside or around
 * another recorded path, nor where an ignore file hides it. add, move, stage add and repro refuse
 * the same collisions through one check (src/repo/overlaps.ts), before changing anything; remove
 * and move keep the .gitignore lines another output still needs.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

function repoWith(files: Record<string, string>, initArgs: string[] = []): string {
  const d = makeRepo({ initArgs });
  made.push(d);
  writeTree(d, files);
  return d;
}

function exists(d: string, rel: string): boolean {
  return fs.existsSync(path.join(d, rel));
}

function read(d: string, rel: string): string {
  return fs.readFileSync(path.join(d, rel), 'utf8');
}

/** Runs rvc with --json, expects a refusal with `code`, and returns its error. */
function refused(d: string, args: string[], code: string): { code: string; message: string; hint: string; details: { paths: string[] } } {
  // `stage add` takes everything after its first operand as the command: --json goes first.
  const r = rvc(d, args[0] === 'stage' ? [...args.slice(0, 2), '--json', ...args.slice(2)] : [...args, '--json']);
  expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1);
  const e = json(r).error;
  expect(e.code, args.join(' ')).toBe(code);
  expect(e.hint, args.join(' ')).toBeTruthy();
  return e;
}

const PIPELINE = `stages:
  train:
    cmd: echo weights > model.pkl
    outs: [model.pkl]
  mk:
    cmd: mkdir -p outdir && echo a > outdir/a
    outs: [outdir]
  res:
    cmd: mkdir -p res && echo m > res/m.bin
    outs: [res/m.bin]
`;

describe('add refuses what a stage produces', () => {
  it('a stage output, a path inside a folder output, a folder holding one — declared in rvc.yaml or only recorded in rvc.lock', () => {
    const d = repoWith({ 'rvc.yaml': PIPELINE });
    rvcOk(d, ['repro']);
    writeTree(d, { 'res/notes.txt': 'mine\n' });
    const ignoreBefore = read(d, '.gitignore');
    const cases: [string, string[]][] = [
      ['model.pkl', ['model.pkl', 'model.pkl']],
      ['outdir/a', ['outdir/a', 'outdir']],
      ['res', ['res', 'res/m.bin']],
    ];
    for (const [p, paths] of cases) {
      const e = refused(d, ['add', p], 'PATH_OVERLAPS');
      expect(e.details.paths, p).toEqual(paths);
      expect(e.message, p).toContain(`'${paths[1]}'`);
      expect(e.hint, p).toMatch(/rvc repro (train|mk|res)/);
      expect(exists(d, `${p}.rvc`), p).toBe(false);
    }
    // Several paths: the valid one is not added either (everything is checked first).
    writeTree(d, { 'free.txt': 'free\n' });
    refused(d, ['add', 'free.txt', 'model.pkl'], 'PATH_OVERLAPS');
    expect(exists(d, 'free.txt.rvc')).toBe(false);
    expect(read(d, '.gitignore')).toBe(ignoreBefore);
    // With the stage gone from rvc.yaml, rvc.lock still records its output.
    writeTree(d, { 'rvc.yaml': 'stages:\n  other:\n    cmd: echo o > o.txt\n    outs: [o.txt]\n' });
    const e = refused(d, ['add', 'model.pkl'], 'PATH_OVERLAPS');
    expect(e.message).toContain('rvc.lock');
    expect(exists(d, 'model.pkl.rvc')).toBe(false);
    // A path no output overlaps is still added.
    rvcOk(d, ['add', 'free.txt']);
  });
});

describe('remove and move keep the .gitignore lines other outputs need', () => {
  it('remove of a pointer that also tracks a stage output keeps its line; move of a pointer another pointer shares keeps it', () => {
    const d = repoWith({ 'rvc.yaml': PIPELINE, 'x.txt': 'x\n' });
    rvcOk(d, ['repro', 'train']);
    // A repository where model.pkl was tracked twice (as older versions allowed).
    fs.renameSync(path.join(d, 'rvc.yaml'), path.join(d, 'rvc.yaml.aside'));
    fs.renameSync(path.join(d, 'rvc.lock'), path.join(d, 'rvc.lock.aside'));
    rvcOk(d, ['add', 'model.pkl', 'x.txt']);
    fs.renameSync(path.join(d, 'rvc.yaml.aside'), path.join(d, 'rvc.yaml'));
    fs.renameSync(path.join(d, 'rvc.lock.aside'), path.join(d, 'rvc.lock'));
    rvcOk(d, ['remove', 'model.pkl.rvc']);
    expect(read(d, '.gitignore').split('\n')).toContain('/model.pkl');
    expect(git(d, ['status', '--porcelain', '--untracked-files=all'])).not.toContain('model.pkl');
    // Two pointers tracking x.txt: moving one keeps the line the other needs.
    fs.copyFileSync(path.join(d, 'x.txt.rvc'), path.join(d, 'twin.rvc'));
    rvcOk(d, ['move', 'x.txt.rvc', 'y.txt']);
    const lines = read(d, '.gitignore').split('\n');
    expect(lines).toContain('/x.txt');
    expect(lines).toContain('/y.txt');
    // Removing both pointers of a path at once removes its line.
    writeTree(d, { 'z.txt': 'z\n' });
    rvcOk(d, ['add', 'z.txt']);
    fs.copyFileSync(path.join(d, 'z.txt.rvc'), path.join(d, 'z2.rvc'));
    rvcOk(d, ['remove', 'z.txt.rvc', 'z2.rvc']);
    expect(read(d, '.gitignore').split('\n')).not.toContain('/z.txt');
  });
});

describe('move refuses a destination inside or around a tracked output, and a stage output as source', () => {
  it('nothing moves, no pointer is written', () => {
    const d = repoWith({
      'rvc.yaml': `${PIPELINE}  later:\n    cmd: mkdir -p later && echo l > later/out.bin\n    outs: [later/out.bin]\n`,
      'data/d.txt': 'd\n', 'foo': 'foo\n',
    });
    rvcOk(d, ['repro', 'train', 'mk']);
    rvcOk(d, ['add', 'data', 'foo']);
    const before = readTree(d);
    const cases: [string[], string[]][] = [
      [['move', 'foo', 'data'], ['data/foo', 'data']], // into a pointer-tracked folder
      [['move', 'foo', 'outdir'], ['outdir/foo', 'outdir']], // into a stage's folder output
      [['move', 'foo.rvc', 'later'], ['later', 'later/out.bin']], // around an output not produced yet
      [['move', 'model.pkl', 'm2.pkl'], ['model.pkl', 'model.pkl']], // a stage's output
    ];
    for (const [args, paths] of cases) {
      const e = refused(d, args, 'PATH_OVERLAPS');
      expect(e.details.paths, args.join(' ')).toEqual(paths);
      expect(readTree(d), args.join(' ')).toEqual(before);
    }
    // An ordinary move still works.
    rvcOk(d, ['move', 'foo', 'bar']);
    expect(exists(d, 'bar.rvc')).toBe(true);
  });
});

describe('repro and stage add refuse the outputs add refuses', () => {
  it('.rvcignore matches the output, or it lies inside a pointer-tracked folder: refused by repro, stage add and add alike', () => {
    const d = repoWith({ 'data/a.txt': 'A\n', 'z.log': 'z\n', 'in.txt': 'i\n', 'sub/keep.txt': 'k\n', 'sub/x.tmp': 't\n' });
    writeTree(d, { '.rvcignore': '*.log\n', 'sub/.rvcignore': '*.tmp\n' });
    rvcOk(d, ['add', 'data']);
    for (const [out, code, file] of [['run.log', 'PATH_IGNORED', '.rvcignore'], ['sub/gen.tmp', 'PATH_IGNORED', 'sub/.rvcignore'], ['data/gen.txt', 'PATH_OVERLAPS', 'data']] as const) {
      const yaml = `stages:\n  first:\n    cmd: echo ran > first.txt\n    outs: [first.txt]\n  gen:\n    cmd: echo ran > ${out}\n    deps: [in.txt]\n    outs: [${out}]\n`;
      writeTree(d, { 'rvc.yaml': yaml });
      const e = refused(d, ['repro'], code);
      expect(e.details.paths, out).toEqual([out, file]);
      expect(exists(d, 'first.txt'), out).toBe(false);
      expect(exists(d, out), out).toBe(false);
      expect(exists(d, 'rvc.lock'), out).toBe(false);
      fs.rmSync(path.join(d, 'rvc.yaml'));
      const s = refused(d, ['stage', 'add', '-n', 'gen', '-o', out, 'echo hi'], code);
      expect(s.details.paths, out).toEqual([out, file]);
      expect(exists(d, 'rvc.yaml'), out).toBe(false);
    }
    // add: the same code and paths.
    expect(refused(d, ['add', 'z.log'], 'PATH_IGNORED').details.paths).toEqual(['z.log', '.rvcignore']);
    expect(refused(d, ['add', 'sub/x.tmp'], 'PATH_IGNORED').details.paths).toEqual(['sub/x.tmp', 'sub/.rvcignore']);
    expect(refused(d, ['add', 'data/a.txt'], 'PATH_OVERLAPS').details.paths).toEqual(['data/a.txt', 'data']);
    expect(exists(d, 'z.log.rvc') || exists(d, 'sub/x.tmp.rvc') || exists(d, 'data/a.txt.rvc')).toBe(false);
  });
});

describe('add refuses a pointer git would ignore', () => {
  it('in a git-ignored folder: refused before anything is written; accepted with core.no_scm', () => {
    const files = { '.gitignore': 'build/\n', 'build/b.bin': 'b\n', 'ok.txt': 'ok\n' };
    const d = repoWith(files);
    const e = refused(d, ['add', 'ok.txt', 'build/b.bin'], 'PATH_IGNORED');
    expect(e.details.paths).toEqual(['build/b.bin.rvc', '.gitignore']);
    expect(e.message).toContain('build/b.bin');
    expect(exists(d, 'ok.txt.rvc')).toBe(false);
    expect(exists(d, 'build/b.bin.rvc')).toBe(false);
    expect(exists(d, 'build/.gitignore')).toBe(false);
    expect(read(d, '.gitignore')).toBe('build/\n');
    rvcOk(d, ['add', 'ok.txt']);

    const n = repoWith(files, ['--no-scm']);
    rvcOk(n, ['add', 'build/b.bin']);
    expect(exists(n, 'build/b.bin.rvc')).toBe(true);
  });
});
