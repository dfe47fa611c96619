/**
 * Hostile repositories: pointer files, tree manifests in the cache, rvc.yaml, rvc.lock and config
 * written to make rvc read or write outside the workspace, blow up, or print a secret. For each,
 * the real binary must refuse with a clear error and leave a sentinel folder beside the
 * repository byte-identical, with nothing new next to it.
 */
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, writeTree, readTree, rmrf, tmpDir, type RunResult } from '../helpers/cli.js';
import { hashBuffer } from '../../src/hashing/hash.js';
import { serializeTree, type TreeEntry } from '../../src/model/tree.js';

interface World {
  outer: string;
  repo: string;
  sentinel: string;
  before: Record<string, string>;
}

const worlds: string[] = [];
afterEach(() => {
  while (worlds.length) {
    const d = worlds.pop()!;
    // Protected cache files are read-only; make them removable.
    rmrf(d);
  }
});

/** A folder holding the repository and a sentinel folder (the "outside" rvc must not touch). */
function world(): World {
  const outer = tmpDir('rvc-hostile-');
  worlds.push(outer);
  const repo = path.join(outer, 'repo');
  const sentinel = path.join(outer, 'sentinel');
  fs.mkdirSync(repo);
  writeTree(sentinel, { 'keep.txt': 'precious\n', 'sub/x': 'original x\n' });
  git(repo, ['init', '-q', '-b', 'main']);
  git(repo, ['config', 'user.email', 'test@example.com']);
  git(repo, ['config', 'user.name', 'rvc test']);
  git(repo, ['config', 'commit.gpgsign', 'false']);
  rvcOk(repo, ['init']);
  return { outer, repo, sentinel, before: readTree(sentinel) };
}

/** Nothing outside the repository changed: the sentinel is identical and nothing appeared beside it. */
function expectOutsideUntouched(w: World): void {
  expect(readTree(w.sentinel)).toEqual(w.before);
  expect(fs.readdirSync(w.outer).sort()).toEqual(['repo', 'sentinel']);
}

function expectRefused(r: RunResult, pattern: RegExp): void {
  expect(r.code, `${r.stdout}\n${r.stderr}`).not.toBe(0);
  expect(r.code, 'a crash is not a refusal').toBeLessThan(128);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/at .*\.js:\d+|TypeError|RangeError|FATAL/);
}

const blake3 = (s: string | Buffer) => hashBuffer('blake3', s);

/** Stores `content` in the cache as a file object; returns its oid. */
function putObject(repo: string, content: string): string {
  const oid = blake3(content);
  const p = path.join(repo, '.rvc/cache/blake3', oid.slice(0, 2), oid.slice(2));
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return oid;
}

/** Stores a manifest under `name` (its true oid unless given); returns the oid used. */
function putManifest(repo: string, text: string, name?: string): string {
  const oid = name ?? `${blake3(text)}.tree`;
  const p = path.join(repo, '.rvc/cache/blake3', oid.slice(0, 2), oid.slice(2));
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return oid;
}

function pointerText(outs: { path: string; oid: string; size?: number; nfiles?: number }[]): string {
  return `outs:\n${outs.map((o) => `  - path: ${JSON.stringify(o.path)}\n    hash: blake3\n    oid: ${JSON.stringify(o.oid)}\n    size: ${o.size ?? 1}\n${o.nfiles !== undefined ? `    nfiles: ${o.nfiles}\n` : ''}`).join('')}`;
}

describe('hostile pointer files', () => {
  it('refuses ../ and absolute out paths, also from a pointer in a sub-folder', () => {
    const w = world();
    const oid = putObject(w.repo, 'evil payload\n');
    const cases: [string, string][] = [
      ['up.rvc', '../sentinel/keep.txt'],
      ['abs.rvc', path.join(w.sentinel, 'keep.txt')],
      ['a/b/deep.rvc', '../../../sentinel/sub/x'],
      ['a/b/dots.rvc', '../../outside'],
      ['win.rvc', '..\\..\\sentinel\\keep.txt'],
    ];
    for (const [file, out] of cases) {
      writeTree(w.repo, { [file]: pointerText([{ path: out, oid }]) });
      for (const args of [['checkout'], ['checkout', '--force'], ['status'], ['pull']]) {
        const r = rvc(w.repo, args);
        expectRefused(r, new RegExp(`${file.replace(/\./g, '\\.')}.*(refusing path|absolute|segment|backslash)`));
      }
      fs.rmSync(path.join(w.repo, file));
    }
    expectOutsideUntouched(w);
  });

  it('refuses an oid that is not hex, naming the file and line', () => {
    const w = world();
    writeTree(w.repo, { 'x.rvc': pointerText([{ path: 'x', oid: `../../${'a'.repeat(58)}` }]) });
    const r = rvc(w.repo, ['checkout']);
    expectRefused(r, /invalid blake3 oid .* in x\.rvc:4/);
    writeTree(w.repo, { 'x.rvc': pointerText([{ path: 'x', oid: 'Z'.repeat(64) }]) });
    expectRefused(rvc(w.repo, ['status']), /invalid blake3 oid/);
    expectOutsideUntouched(w);
  });
});

describe('symbolic links inside and above tracked data', () => {
  it('add does not follow a link out of the workspace; checkout does not write through it', () => {
    const w = world();
    writeTree(w.repo, { 'data/a': 'a\n' });
    fs.symlinkSync(w.sentinel, path.join(w.repo, 'data/link'));
    expectRefused(rvc(w.repo, ['add', 'data']), /data\/link.*(outside the repository|symbolic link)/);
    expect(fs.existsSync(path.join(w.repo, 'data.rvc'))).toBe(false);
    fs.unlinkSync(path.join(w.repo, 'data/link'));
    rvcOk(w.repo, ['add', 'data']);

    // A manifest (in the cache, as a fetch could leave it) that writes link/x and link/keep.txt,
    // with the link back in place in the workspace.
    const payload = putObject(w.repo, 'overwritten!\n');
    const entries: TreeEntry[] = [
      { path: 'a', oid: blake3('a\n'), size: 2 },
      { path: 'link/keep.txt', oid: payload, size: 13 },
      { path: 'link/new', oid: payload, size: 13 },
    ];
    const tree = putManifest(w.repo, serializeTree(entries));
    writeTree(w.repo, { 'data.rvc': pointerText([{ path: 'data', oid: tree, size: 28, nfiles: 3 }]) });
    fs.symlinkSync(w.sentinel, path.join(w.repo, 'data/link'));
    for (const args of [['checkout'], ['checkout', '--force'], ['checkout', 'data/link']]) {
      expectRefused(rvc(w.repo, args), /link/);
      expectOutsideUntouched(w);
    }
    // A link to a folder inside the repository is refused too (it would alias tracked data).
    fs.unlinkSync(path.join(w.repo, 'data/link'));
    fs.mkdirSync(path.join(w.repo, 'elsewhere'));
    fs.symlinkSync(path.join(w.repo, 'elsewhere'), path.join(w.repo, 'data/link'));
    expectRefused(rvc(w.repo, ['checkout']), /link.*symbolic link/);
    expect(fs.readdirSync(path.join(w.repo, 'elsewhere'))).toEqual([]);
    expectOutsideUntouched(w);
  });

  it('metrics, params and pipeline files that link out of the repository are refused, never printed or recorded', () => {
    const w = world();
    writeTree(w.sentinel, { 'secret.json': '{"token": 424242}\n', 'secret.yaml': 'lr: 424242\n' });
    w.before = readTree(w.sentinel);
    writeTree(w.repo, { 'rvc.yaml': 'stages:\n  train:\n    cmd: echo ok > out.txt\n    params: [lr]\n    outs: [out.txt]\nmetrics:\n  - metrics.json\n' });
    fs.symlinkSync(path.join(w.sentinel, 'secret.json'), path.join(w.repo, 'metrics.json'));
    fs.symlinkSync(path.join(w.sentinel, 'secret.yaml'), path.join(w.repo, 'params.yaml'));
    for (const args of [['metrics', 'show'], ['metrics', 'show', 'metrics.json'], ['params', 'diff'], ['repro']]) {
      const r = rvc(w.repo, args);
      expect(`${r.stdout}${r.stderr}`, args.join(' ')).not.toContain('424242');
      expect(r.stderr, args.join(' ')).toMatch(/symbolic link to .*outside the repository/);
    }
    expect(fs.existsSync(path.join(w.repo, 'rvc.lock')) ? fs.readFileSync(path.join(w.repo, 'rvc.lock'), 'utf8') : '').not.toContain('424242');
    // A pipeline file that is such a link is refused too; a link inside the repository is read.
    fs.unlinkSync(path.join(w.repo, 'metrics.json'));
    writeTree(w.repo, { 'real/metrics.json': '{"acc": 0.5}\n' });
    fs.symlinkSync(path.join(w.repo, 'real/metrics.json'), path.join(w.repo, 'metrics.json'));
    expect(rvcOk(w.repo, ['metrics', 'show']).stdout).toContain('0.5');
    expectOutsideUntouched(w);
  });

  it('checkout does not write through a symlinked parent folder of a pointer target', () => {
    const w = world();
    const oid = putObject(w.repo, 'payload\n');
    // As git would check out a committed symlink `out -> ../sentinel`.
    fs.symlinkSync('../sentinel', path.join(w.repo, 'out'));
    writeTree(w.repo, { 'p.rvc': pointerText([{ path: 'out/planted', oid, size: 8 }]) });
    writeTree(w.repo, { 'q.rvc': pointerText([{ path: 'out/keep.txt', oid, size: 8 }]) });
    for (const args of [['checkout'], ['checkout', '--force'], ['checkout', 'out/planted']]) {
      const r = rvc(w.repo, args);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/symbolic link/);
      expectOutsideUntouched(w);
    }
    // A symlinked folder above the pointer file itself.
    fs.mkdirSync(path.join(w.outer, 'sentinel-2'));
    worlds.push(path.join(w.outer, 'sentinel-2'));
    fs.rmSync(path.join(w.repo, 'p.rvc'));
    fs.rmSync(path.join(w.repo, 'q.rvc'));
    fs.symlinkSync(path.join(w.outer, 'sentinel-2'), path.join(w.repo, 'sub'));
    fs.writeFileSync(path.join(w.outer, 'sentinel-2', 'd.rvc'), pointerText([{ path: 'd', oid, size: 8 }]));
    const r = rvc(w.repo, ['checkout', 'sub/d']);
    expect(r.code).not.toBe(0);
    expect(fs.readdirSync(path.join(w.outer, 'sentinel-2'))).toEqual(['d.rvc']);
    fs.rmSync(path.join(w.outer, 'sentinel-2'), { recursive: true });
    expectOutsideUntouched(w);
  });
});

describe('hostile tree manifests', () => {
  function withTree(w: World, text: string, name?: string): void {
    const tree = putManifest(w.repo, text, name);
    writeTree(w.repo, { 'data.rvc': pointerText([{ path: 'data', oid: tree, size: 2, nfiles: 2 }]) });
  }

  it('refuses entries colliding after case-folding or Unicode normalisation, and escaping entries', () => {
    const w = world();
    const oid = putObject(w.repo, 'x\n');
    const A = { oid, size: 2 };
    const bad: [string, RegExp][] = [
      [serializeTree([{ path: 'Data', ...A }, { path: 'data', ...A }]), /collide/],
      [serializeTree([{ path: 'caf\u00e9', ...A }, { path: 'cafe\u0301', ...A }]), /collide/],
      [serializeTree([{ path: 'a', ...A }, { path: 'a/b', ...A }]), /both a file and a folder/],
      [`{"path":"../../sentinel/keep.txt","oid":"${oid}","size":2}\n`, /refusing tree entry/],
      [`{"path":"/tmp/abs","oid":"${oid}","size":2}\n`, /refusing tree entry/],
      [`{"path":"x","oid":"${'g'.repeat(64)}","size":2}\n`, /invalid blake3 oid/],
    ];
    for (const [text, msg] of bad) {
      withTree(w, text);
      for (const args of [['checkout'], ['checkout', '--force']]) expectRefused(rvc(w.repo, args), msg);
      expect(fs.existsSync(path.join(w.repo, 'data'))).toBe(false);
    }
    expectOutsideUntouched(w);
  });

  it('refuses a manifest whose content does not match its name', () => {
    const w = world();
    const oid = putObject(w.repo, 'x\n');
    const honest = serializeTree([{ path: 'a', oid, size: 2 }]);
    const liar = `${blake3('something else')}.tree`;
    withTree(w, honest, liar);
    const r = rvc(w.repo, ['checkout']);
    expectRefused(r, /does not match|corrupt/i);
    expect(fs.existsSync(path.join(w.repo, 'data'))).toBe(false);
    expect(rvc(w.repo, ['fsck']).code).not.toBe(0);
    expectOutsideUntouched(w);
  });
});

describe('huge, deep and self-referencing YAML in every rvc file', () => {
  const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
  let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 12; i++) bomb += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  const attacks: [string, string][] = [
    ['deep', `outs: ${deep}\n`],
    ['bomb', `${bomb}outs: *a11\n`],
    ['huge', `outs:\n${'  - x\n'.repeat(3_000_000)}`],
  ];

  it('pointer, rvc.yaml, rvc.lock and config: a clear error in bounded time, no crash', () => {
    const w = world();
    for (const [kind, text] of attacks) {
      for (const [file, args, code] of [
        ['evil.rvc', ['status'], /evil\.rvc/],
        ['rvc.yaml', ['status'], /rvc\.yaml/],
        ['rvc.lock', ['status'], /rvc\.lock/],
        ['.rvc/config.yaml', ['status'], /config\.yaml/],
      ] as [string, string[], RegExp][]) {
        const p = path.join(w.repo, file);
        const saved = fs.existsSync(p) ? fs.readFileSync(p) : undefined;
        fs.writeFileSync(p, file === 'rvc.yaml' ? text.replace('outs:', 'stages:') : file === 'rvc.lock' ? text.replace('outs:', 'stages:') : text);
        if (file === 'rvc.lock' && !fs.existsSync(path.join(w.repo, 'rvc.yaml'))) fs.writeFileSync(path.join(w.repo, 'rvc.yaml'), 'stages:\n  s:\n    cmd: echo\n');
        const t0 = Date.now();
        const r = rvc(w.repo, args);
        expectRefused(r, code);
        expect(r.stderr, `${kind} ${file}`).toMatch(kind === 'deep' ? /nested more than/ : kind === 'bomb' ? /alias/i : /too large/);
        expect(Date.now() - t0, `${kind} ${file}`).toBeLessThan(15_000);
        if (saved) fs.writeFileSync(p, saved);
        else fs.rmSync(p);
        if (file === 'rvc.lock') fs.rmSync(path.join(w.repo, 'rvc.yaml'), { force: true });
      }
    }
    expectOutsideUntouched(w);
  });
});

describe('credentials in a remote URL', () => {
  it('are refused and never printed by add, push, status, config --list or remote list', () => {
    const w = world();
    const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRET';
    writeTree(w.repo, { 'data/a': 'a\n' });
    // Written by hand (rvc itself refuses to store such a URL).
    fs.appendFileSync(path.join(w.repo, '.rvc/config.yaml'),
      `core:\n  remote: leaky\nremote:\n  leaky:\n    url: s3://AKIAEXAMPLE:${SECRET}@bucket/prefix\n  web:\n    url: https://user:${SECRET}@example.com/store\n`);
    const outputs: RunResult[] = [
      rvc(w.repo, ['add', 'data']),
      rvc(w.repo, ['push']),
      rvc(w.repo, ['push', '-r', 'web']),
      rvc(w.repo, ['status', '--cloud']),
      rvc(w.repo, ['status']),
      rvc(w.repo, ['config', '--list']),
      rvc(w.repo, ['remote', 'list']),
      rvc(w.repo, ['remote', 'list', '--json']),
      rvc(w.repo, ['pull']),
    ];
    for (const r of outputs) {
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(r.code).toBeLessThan(128);
    }
    const push = outputs[1]!;
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/credentials/);
    // Typed on the command line, it is refused without being echoed or stored.
    const add = rvc(w.repo, ['remote', 'add', 'other', `s3://k:${SECRET}@b/p`]);
    expect(add.code).not.toBe(0);
    expect(add.stdout + add.stderr).not.toContain(SECRET);
    expect(fs.readFileSync(path.join(w.repo, '.rvc/config.yaml'), 'utf8')).not.toMatch(/other/);
    expectOutsideUntouched(w);
  });
});
