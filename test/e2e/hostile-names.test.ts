/**
 * Names rvc must never write, and names add must not store unless checkout can restore them.
 *
 * The hostile cases are built as an attacker would: correctly hashed objects and manifests put in
 * a folder remote, pointers (and the remote's address) committed to git. The victim clones, runs
 * `rvc pull` and `rvc checkout --force`, then uses git (`git status`, `git checkout`) in the
 * workspace and inside the tracked folder. A planted hook or `core.fsmonitor` command would
 * create a marker file; it must never appear, nothing may appear under `.git`, and a sentinel
 * folder beside the repositories must stay byte-identical.
 */
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, writeTree, readTree, rmrf, tmpDir, type RunResult } from '../helpers/cli.js';
import { hashBuffer } from '../../src/hashing/hash.js';
import { serializeTree, type TreeEntry } from '../../src/model/tree.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmrf(dirs.pop()!);
});

const blake3 = (s: string | Buffer): string => hashBuffer('blake3', s);

interface World {
  outer: string;
  attacker: string;
  remote: string;
  sentinel: string;
  marker: string;
  before: Record<string, string>;
}

/** An attacker's repository with a folder remote committed as its default, and a sentinel beside it. */
function world(): World {
  const outer = tmpDir('rvc-names-');
  dirs.push(outer);
  const attacker = path.join(outer, 'attacker');
  const remote = path.join(outer, 'remote');
  const sentinel = path.join(outer, 'sentinel');
  fs.mkdirSync(attacker);
  fs.mkdirSync(remote);
  writeTree(sentinel, { 'keep.txt': 'precious\n' });
  gitInit(attacker);
  rvcOk(attacker, ['init']);
  rvcOk(attacker, ['remote', 'add', '-d', 'store', remote]);
  git(attacker, ['add', '-A']);
  git(attacker, ['commit', '-q', '-m', 'init']);
  return { outer, attacker, remote, sentinel, marker: path.join(outer, 'PWNED'), before: readTree(sentinel) };
}

function gitInit(dir: string): void {
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.email', 'test@example.com']);
  git(dir, ['config', 'user.name', 'rvc test']);
  git(dir, ['config', 'commit.gpgsign', 'false']);
}

/** Puts a file object in the remote, as an attacker with write access would; returns its oid. */
function putObject(w: World, content: string): string {
  const oid = blake3(content);
  writeTree(w.remote, { [`blake3/${oid.slice(0, 2)}/${oid.slice(2)}`]: content });
  return oid;
}

/** Puts a manifest in the remote under its true name (the hash of its bytes); returns its oid. */
function putManifest(w: World, text: string): string {
  const oid = `${blake3(text)}.tree`;
  writeTree(w.remote, { [`blake3/${oid.slice(0, 2)}/${oid.slice(2)}`]: text });
  return oid;
}

/** Manifest bytes as rvc writes them (sorted by path), without rvc's checks. */
function manifestText(entries: TreeEntry[]): string {
  return [...entries].sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((e) => `${JSON.stringify({ path: e.path, oid: e.oid, size: e.size, ...(e.exec ? { exec: true } : {}) })}\n`).join('');
}

function pointerText(out: { path: string; oid: string; size: number; exec?: boolean; nfiles?: number }): string {
  return `outs:\n  - path: ${JSON.stringify(out.path)}\n    hash: blake3\n    oid: ${out.oid}\n    size: ${out.size}\n`
    + `${out.nfiles !== undefined ? `    nfiles: ${out.nfiles}\n` : ''}${out.exec ? '    exec: true\n' : ''}`;
}

/** Commits `files` in the attacker's repository and returns a fresh clone of it (the victim). */
function commitAndClone(w: World, files: Record<string, string>, name: string): string {
  writeTree(w.attacker, files);
  git(w.attacker, ['add', '-A']);
  git(w.attacker, ['commit', '-q', '-m', name]);
  const victim = path.join(w.outer, `victim-${name}`);
  git(w.outer, ['clone', '-q', w.attacker, victim]);
  gitInit(victim);
  return victim;
}

/** Every file under `.git` with its content, to prove rvc added or changed nothing there. */
function gitDirSnapshot(repo: string): Record<string, string> {
  return readTree(path.join(repo, '.git'));
}

function expectRefused(r: RunResult, pattern: RegExp): void {
  expect(r.code, `${r.stdout}\n${r.stderr}`).not.toBe(0);
  expect(r.code, 'a crash is not a refusal').toBeLessThan(128);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/at .*\.js:\d+|TypeError|RangeError|FATAL|does not match/);
}

/** Uses git the way a person would after a pull, in the workspace and in every folder below it. */
function useGitEverywhere(victim: string): void {
  const folders = [victim];
  const rec = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== '.git') {
        folders.push(path.join(d, e.name));
        rec(path.join(d, e.name));
      }
    }
  };
  rec(victim);
  for (const f of folders) {
    try {
      git(f, ['status', '--porcelain']);
    } catch {
      // a folder git refuses to work in is no attack; the marker below is what counts
    }
  }
  git(victim, ['checkout', '-q', '-b', `probe-${Date.now()}`]);
}

function expectNothingPlanted(w: World, victim: string, gitBefore: Record<string, string>): void {
  useGitEverywhere(victim);
  expect(fs.existsSync(w.marker), 'a planted command ran').toBe(false);
  expect(fs.existsSync(path.join(victim, '.git/hooks/post-checkout'))).toBe(false);
  // `git checkout -b` only adds its own ref and rewrites HEAD and logs; nothing else may differ.
  const after = gitDirSnapshot(victim);
  for (const k of Object.keys(after)) {
    if (k === 'HEAD' || k.startsWith('refs/heads/probe-') || k.startsWith('logs/') || k === 'index') continue;
    expect(after[k], `.git/${k}`).toBe(gitBefore[k]);
  }
  expect(fs.statSync(path.join(victim, '.git')).isDirectory()).toBe(true);
  expect(fs.existsSync(path.join(victim, '.rvc/config.yaml'))).toBe(true);
  expect(readTree(w.sentinel)).toEqual(w.before);
  expect(fs.readdirSync(w.outer).filter((n) => !n.startsWith('victim-')).sort()).toEqual(['attacker', 'remote', 'sentinel']);
}

const HOOK = (marker: string): string => `#!/bin/sh\ntouch '${marker}'\n`;

describe('pointers naming .git or .rvc, in every spelling', () => {
  it('rvc pull and rvc checkout --force refuse them: no hook, no replaced .git or cache', () => {
    const w = world();
    const hook = HOOK(w.marker);
    const hookOid = putObject(w, hook);
    // One clone per attack; the other spellings together in one (each is refused on its own by
    // the unit tests of the check).
    const cases: [string, string[]][] = [
      ['hook', ['.git/hooks/post-checkout']],
      ['gitdir', ['.git']],
      ['cache', ['.rvc']],
      ['spellings', ['.GIT/hooks/post-checkout', '.git./hooks/post-checkout', '.git /hooks/post-checkout', 'GIT~1/hooks/post-checkout',
        '.git::$INDEX_ALLOCATION/hooks/post-checkout', '.g\u200cit/hooks/post-checkout', 'sub/.git/hooks/post-checkout', 'sub/.rvc/config.yaml']],
      // A pointer file kept in a folder spelled like rvc's own (which it is on macOS and Windows).
      ['.RVC/inside', ['config.yaml']],
    ];
    for (const [name, outs] of cases) {
      const pointers = Object.fromEntries(outs.map((out, i) => [`${name}${i}.rvc`, pointerText({ path: out, oid: hookOid, size: hook.length, exec: true })]));
      const victim = commitAndClone(w, pointers, path.basename(name));
      const gitBefore = gitDirSnapshot(victim);
      for (const args of [['pull'], ['checkout', '--force']]) {
        expectRefused(rvc(victim, args), new RegExp(`${name.replace('.', '\\.')}\\d\\.rvc.*refusing (path|a pointer file).*(\\.git|\\.rvc|\\.RVC|GIT~1)`));
      }
      expect(fs.existsSync(path.join(victim, '.RVC/config.yaml'))).toBe(false);
      expectNothingPlanted(w, victim, gitBefore);
      for (const f of Object.keys(pointers)) fs.rmSync(path.join(w.attacker, f));
    }
  });
});

describe('manifests on a remote with entries under .git or outside the folder', () => {
  it('rvc pull refuses them as unsafe paths naming the entry (not as a hash mismatch); no nested repository is planted', () => {
    const w = world();
    const readme = 'hello\n';
    const readmeOid = putObject(w, readme);
    // A nested repository whose configuration runs a command as soon as git is used inside it.
    const config = `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = "touch '${w.marker}'; true"\n`;
    const head = 'ref: refs/heads/main\n';
    const empty = '';
    const files: Record<string, string> = { config, HEAD: head, 'objects/info/packs': empty, 'refs/heads/.keep': empty };
    const nested = (prefix: string): TreeEntry[] => [
      { path: 'README', oid: readmeOid, size: readme.length },
      ...Object.entries(files).map(([p, c]) => ({ path: `${prefix}/${p}`, oid: putObject(w, c), size: c.length })),
    ];
    const cases: [string, TreeEntry[], RegExp][] = [
      ['nested', nested('inner/.git'), /inner\/\.git\/.*'\.git' component/],
      ['upper', nested('inner/.Git'), /inner\/\.Git\/.*names '\.git'/],
      ['escape', [{ path: '../../sentinel/keep.txt', oid: readmeOid, size: readme.length }], /\.\.\/\.\.\/sentinel\/keep\.txt.*'\.\.' segment/],
    ];
    for (const [name, entries, why] of cases) {
      const text = manifestText(entries);
      const tree = putManifest(w, text);
      const victim = commitAndClone(w, { 'data.rvc': pointerText({ path: 'data', oid: tree, size: 1, nfiles: entries.length }) }, name);
      const gitBefore = gitDirSnapshot(victim);
      const pull = rvc(victim, ['pull']);
      expectRefused(pull, why);
      expect(pull.stderr, 'refused as an unsafe path').toMatch(/refusing tree entry/);
      expectRefused(rvc(victim, ['checkout', '--force']), /not in the cache|refusing/);
      expect(readTree(path.join(victim, 'data'))).toEqual({});
      expectNothingPlanted(w, victim, gitBefore);
    }
  });
});

describe('paths typed by the user into .git or .rvc', () => {
  it('add, remove --outs, move, get -o and a stage output are refused (and a move to a name no pointer can carry); a hand-written .git pointer deletes nothing', () => {
    const w = world();
    const repo = w.attacker;
    const gitBefore = gitDirSnapshot(repo);
    expectRefused(rvc(repo, ['add', '.git']), /refusing '\.git'.*'\.git' is a folder/);
    expectRefused(rvc(repo, ['add', '.rvc/config.yaml']), /'\.rvc' is a folder/);
    // A pointer written by hand for `.git`: removing its output must not remove the repository.
    fs.writeFileSync(path.join(repo, '.git.rvc'), pointerText({ path: '.git', oid: blake3('x'), size: 1 }));
    expectRefused(rvc(repo, ['remove', '.git.rvc', '--outs']), /\.git\.rvc.*refusing path '\.git'/);
    fs.rmSync(path.join(repo, '.git.rvc'));
    // Data inside a folder spelled like .git is neither stored nor dropped silently.
    writeTree(repo, { 'data/a': 'a\n', 'data/.Git/config': '[core]\n' });
    expectRefused(rvc(repo, ['add', 'data']), /data\/\.Git.*spelling of '\.git'/);
    fs.rmSync(path.join(repo, 'data/.Git'), { recursive: true });
    rvcOk(repo, ['add', 'data']);
    expectRefused(rvc(repo, ['move', 'data', '.git/hooks']), /'\.git' is a folder/);
    // Refused before the data moves: a pointer could not be written for this name.
    expectRefused(rvc(repo, ['move', 'data', 'q'.repeat(253)]), /cannot be tracked: its pointer file .* longer than 255 bytes/);
    expectRefused(rvc(repo, ['get', 'data', '-o', '.git/hooks/data']), /refusing destination.*'\.git'/);
    expectRefused(rvc(repo, ['get', 'data', '-o', '.GIT.']), /refusing destination.*'\.GIT\.'/);
    fs.writeFileSync(path.join(repo, 'rvc.yaml'), 'stages:\n  s:\n    cmd: cp data/a out/.GIT/config\n    deps: [data]\n    outs: [out/.GIT/config]\n');
    expectRefused(rvc(repo, ['repro']), /out\/\.GIT\/config.*inside \.git or \.rvc/);
    fs.rmSync(path.join(repo, 'rvc.yaml'));
    expect(fs.existsSync(path.join(repo, 'data/a'))).toBe(true);
    expect(gitDirSnapshot(repo)).toEqual(gitBefore);
    expect(readTree(w.sentinel)).toEqual(w.before);
  });
});

describe('names add would store but checkout could not restore', () => {
  it('are refused at add (and by status), naming the file; a 255-byte name round-trips', () => {
    const w = world();
    const repo = w.attacker;
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'data/a\\b': 'x' }, /data\/a\\b.*backslash/],
      [{ 'data/Read.me': 'x', 'data/read.ME': 'y' }, /data\/(Read\.me|read\.ME).*only by case/],
      [{ 'data/caf\u00e9': 'x', 'data/cafe\u0301': 'y' }, /data\/caf.*Unicode normalisation/],
    ];
    for (const [files, why] of cases) {
      writeTree(repo, { 'data/ok': 'fine\n', ...files });
      expectRefused(rvc(repo, ['add', 'data']), why);
      expect(fs.existsSync(path.join(repo, 'data.rvc'))).toBe(false);
      rmrf(path.join(repo, 'data'));
    }
    // The same for a target itself, and a name whose pointer file could not exist.
    writeTree(repo, { 'a\\b': 'x', [`${'m'.repeat(252)}`]: 'x' });
    expectRefused(rvc(repo, ['add', 'a\\b']), /'a\\b' cannot be tracked.*backslash/);
    expectRefused(rvc(repo, ['add', 'm'.repeat(252)]), /cannot be tracked: its pointer file .* longer than 255 bytes/);
    expect(fs.readdirSync(repo).filter((n) => n.endsWith('.rvc') && n !== '.rvc')).toEqual([]);
    fs.rmSync(path.join(repo, 'a\\b'));
    fs.rmSync(path.join(repo, 'm'.repeat(252)));
    // A name that is not UTF-8 (made through a Buffer path: a string cannot hold it) appearing in
    // tracked data: status must not call the folder up to date, and add must not drop the file.
    writeTree(repo, { 'data/ok': 'fine\n' });
    rvcOk(repo, ['add', 'data']);
    fs.writeFileSync(Buffer.concat([Buffer.from(path.join(repo, 'data/caf')), Buffer.from([0xe9])]), 'latin-1 name\n');
    for (const args of [['status'], ['add', 'data']]) expectRefused(rvc(repo, args), /data\/caf\\xe9.*not valid UTF-8/);
    // Listed in .rvcignore, it is left out knowingly.
    fs.writeFileSync(path.join(repo, 'data/.rvcignore'), 'caf*\n');
    rvcOk(repo, ['status']);
    rvcOk(repo, ['remove', 'data.rvc', '--outs']);
    rmrf(path.join(repo, 'data'));

    // The longest name a Linux filesystem allows, in a folder and as a changed file.
    const long = 'n'.repeat(251) + '.bin';
    const longUtf8 = '\u00e9'.repeat(127) + 'x';
    expect(Buffer.byteLength(long)).toBe(255);
    expect(Buffer.byteLength(longUtf8)).toBe(255);
    writeTree(repo, { [`data/${long}`]: 'long\n', [`data/${longUtf8}`]: 'utf8\n' });
    rvcOk(repo, ['add', 'data']);
    const added = readTree(path.join(repo, 'data'));
    rmrf(path.join(repo, 'data'));
    rvcOk(repo, ['checkout']);
    expect(readTree(path.join(repo, 'data'))).toEqual(added);
    fs.writeFileSync(path.join(repo, 'data', long), 'changed\n');
    rvcOk(repo, ['checkout', '--force']);
    expect(readTree(path.join(repo, 'data'))).toEqual(added);
    expect(rvcOk(repo, ['status', '--json']).stdout).not.toMatch(/modified|added|deleted/);
    expect(fs.readdirSync(path.join(repo, 'data')).sort()).toEqual([long, longUtf8].sort());
    expect(readTree(w.sentinel)).toEqual(w.before);
  });
});
