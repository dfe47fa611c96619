import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import {
  unsafeRelPathReason, reservedNameOf, reservedComponentOf, isInside, isStrictlyInside, joinRepoPath, normalizePath, parentDirs, pathsOverlap,
} from '../../src/model/paths.js';
import { tempPathFor, isTempName, sweepStaleTemps } from '../../src/fsutil/atomic.js';
import { walkFiles, IgnoreRules } from '../../src/fsutil/walk.js';
import { tmpDir, rmrf, writeTree } from '../helpers/cli.js';
import { rvcError } from '../helpers/errors.js';

describe('repository paths', () => {
  it('normalises to POSIX form', () => {
    expect(normalizePath('a//b/./c/')).toBe('a/b/c');
    expect(normalizePath('a\\b\\c')).toBe('a/b/c');
    expect(normalizePath('a/../b')).toBe('b');
    expect(normalizePath('../x')).toBe('../x');
    expect(normalizePath('./')).toBe('.');
  });
  it('joins with wdir and refuses escapes', () => {
    expect(joinRepoPath('src', '../data')).toBe('data');
    expect(joinRepoPath('.', 'a/b')).toBe('a/b');
    expect(joinRepoPath('src', '../../data')).toBeUndefined();
    expect(joinRepoPath('.', '..')).toBeUndefined();
  });
  it('tells containment apart from a shared prefix', () => {
    expect(isStrictlyInside('data/a', 'data')).toBe(true);
    expect(isStrictlyInside('data-2/a', 'data')).toBe(false);
    expect(isStrictlyInside('data', 'data')).toBe(false);
    expect(pathsOverlap('data', 'data')).toBe(true);
    expect(pathsOverlap('data', 'data/x/y')).toBe(true);
    expect(pathsOverlap('data', 'database')).toBe(false);
  });
  it('treats the root (. or empty) as holding every path', () => {
    for (const root of ['.', '']) {
      expect(isInside('a/b', root)).toBe(true);
      expect(isStrictlyInside('a', root)).toBe(true);
      expect(isStrictlyInside(root, root)).toBe(false);
      expect(pathsOverlap(root, 'a')).toBe(true);
    }
    expect(isInside('.', 'a')).toBe(false);
  });
  it('lists the folders above a path, nearest first', () => {
    expect(parentDirs('a/b/c')).toEqual(['a/b', 'a']);
    expect(parentDirs('a')).toEqual([]);
  });
});

describe('reserved names: .git and .rvc in every spelling', () => {
  const git = [
    '.git', '.GIT', '.Git', '.gIt', '.git.', '.git..', '.git ', '.git. .', '.GIT. ',
    'git~1', 'GIT~1', 'Git~2', 'git~9', 'git~1.', 'git~1 ',
    '.git::$INDEX_ALLOCATION', '.GIT::$INDEX_ALLOCATION', '.git:$DATA', '.git:stream', '.git. ::$INDEX_ALLOCATION',
    '.g\u200cit', '\u200d.git', '.git\u200e', '.gi\u200ft', '.\u202agit', '.git\u202e', '.gi\u206at', '.git\u206f', '\ufeff.git', '.\u200c\u200dgit',
  ];
  const rvc = ['.rvc', '.RVC', '.Rvc.', '.rvc  ', 'rvc~1', 'RVC~3', '.rvc::$INDEX_ALLOCATION', '.r\u200cvc', '\ufeff.rvc'];
  const ordinary = [
    '.github', '.gitignore', '.gitattributes', '.gitmodules', 'git', 'git~', 'git~0', 'git~10', 'git~a', 'rvc', '.rvcignore',
    'data.rvc', 'my.git.file', '.git-rewrite', 'x.git', '.gitx', '..git', ' .git', 'a.rvc', '.rvc-cache', '.ḡit', 'ğit~1', '', '.', '..', 'data',
  ];

  it.each(git)('%j names .git', (n) => expect(reservedNameOf(n)).toBe('.git'));
  it.each(rvc)('%j names .rvc', (n) => expect(reservedNameOf(n)).toBe('.rvc'));
  it.each(ordinary)('%j is an ordinary name', (n) => expect(reservedNameOf(n)).toBeUndefined());

  it('unsafeRelPathReason refuses them as any component, and accepts ordinary names there', () => {
    for (const n of [...git, ...rvc]) {
      for (const p of [n, `${n}/config`, `data/${n}`, `data/${n}/hooks/post-checkout`, `a/b/${n}`]) {
        expect(unsafeRelPathReason(p), p).toMatch(/component/);
        expect(reservedComponentOf(p), p).toBe(n);
      }
    }
    for (const n of ordinary.filter((x) => x !== '' && x !== '.' && x !== '..')) {
      for (const p of [n, `${n}/x`, `data/${n}`, `a/${n}/b`]) {
        expect(unsafeRelPathReason(p), p).toBeUndefined();
        expect(reservedComponentOf(p), p).toBeUndefined();
      }
    }
  });

  it('names the spelling and what it folds to, with invisible code points escaped', () => {
    expect(unsafeRelPathReason('a/.git/config')).toBe("'.git' component");
    expect(unsafeRelPathReason('a/.GIT./config')).toBe("'.GIT.' component, which names '.git' on some filesystems");
    expect(unsafeRelPathReason('.g\u200cit')).toBe("'.g\\u200cit' component, which names '.git' on some filesystems");
  });
});

describe('temp names', () => {
  const dirs: string[] = [];
  afterEach(() => {
    while (dirs.length) rmrf(dirs.pop()!);
  });

  it('fit a folder for a 255-byte target name (ASCII or multi-byte) and stay recognisable and sweepable', () => {
    const d = tmpDir('rvc-paths-');
    dirs.push(d);
    for (const name of ['n'.repeat(255), '\u00e9'.repeat(127) + 'x', '\u{1F600}'.repeat(63) + 'abc', 'short']) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      const tmp = tempPathFor(path.join(d, name));
      const base = path.basename(tmp);
      expect(Buffer.byteLength(base)).toBeLessThanOrEqual(255);
      expect(base.includes('\ufffd')).toBe(false);
      expect(isTempName(base)).toBe(true);
      fs.writeFileSync(tmp, 'x');
      // A temp file of a process that is gone (PID 2^22 + 1 is above Linux's pid_max) is swept.
      const stale = base.replace(`.${process.pid}.`, `.${2 ** 22 + 1}.`);
      fs.renameSync(tmp, path.join(d, stale));
      expect(sweepStaleTemps(d, name)).toBe(1);
      expect(fs.readdirSync(d)).toEqual([]);
    }
  });
});

describe('walk: names a manifest cannot carry back', () => {
  const dirs: string[] = [];
  afterEach(() => {
    while (dirs.length) rmrf(dirs.pop()!);
  });

  const walk = (root: string, storable: boolean) => walkFiles(path.join(root, 'd'), { repoRoot: root, ignore: new IgnoreRules(root), storable });

  it('are refused, naming the file, only when storing; ordinary and exact .git names are fine', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'd/a\\b': 'x' }, /'d\/a\\b'.*backslash/],
      [{ 'd/x/A': '1', 'd/x/a': '2' }, /'d\/x\/a'.*'d\/x\/A'.*case/],
      [{ 'd/\u00c5': '1', 'd/A\u030a': '2' }, /Unicode normalisation/],
      [{ 'd/sub/.GIT/config': 'x' }, /'d\/sub\/\.GIT'.*spelling of '\.git'/],
      [{ 'd/git~1': 'x' }, /'d\/git~1'.*spelling of '\.git'/],
      [{ 'd/.rvc. ': 'x' }, /spelling of '\.rvc'/],
    ];
    for (const [files, why] of cases) {
      const root = tmpDir('rvc-paths-');
      dirs.push(root);
      writeTree(root, { 'd/ok': 'ok', ...files });
      const e = rvcError(() => walk(root, true));
      expect(e.code).toBe('PATH_UNSAFE');
      expect(e.message).toMatch(why);
      expect(walk(root, false).length).toBe(1 + Object.keys(files).length);
    }
    const root = tmpDir('rvc-paths-');
    dirs.push(root);
    writeTree(root, { 'd/.github/x': '1', 'd/.gitignore': '2', 'd/git': '3', 'd/my.git.file': '4', 'd/data.rvc': '5', 'd/sub/.git/config': 'skipped' });
    expect(walk(root, true).rel).toEqual(['.github/x', '.gitignore', 'data.rvc', 'git', 'my.git.file']);
  });

  it('a name that is not UTF-8 is refused with its bytes shown, never dropped', () => {
    const root = tmpDir('rvc-paths-');
    dirs.push(root);
    writeTree(root, { 'd/ok': 'ok' });
    fs.writeFileSync(Buffer.concat([Buffer.from(path.join(root, 'd', 'bad')), Buffer.from([0xff, 0x41])]), 'x');
    const e = rvcError(() => walk(root, true));
    expect(e.code).toBe('PATH_UNSAFE');
    expect(e.message).toMatch(/'d\/bad\\xffA'.*not valid UTF-8/);
    // A real U+FFFD in a valid name is fine.
    fs.rmSync(Buffer.concat([Buffer.from(path.join(root, 'd', 'bad')), Buffer.from([0xff, 0x41])]));
    writeTree(root, { 'd/re\ufffdal': 'x' });
    expect(walk(root, true).rel).toEqual(['ok', 're\ufffdal']);
  });
});
