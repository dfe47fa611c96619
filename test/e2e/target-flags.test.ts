import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';

/**
 * The target flags DVC scripts pass: `--glob` (push, fetch, pull, status), `-R/--recursive` and
 * `-d/--with-deps` (those and checkout, commit), and `add --glob` / `add -o`. Few repositories,
 * several checks each, to keep the suite fast.
 */
const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

const json = (r: { stdout: string }) => JSON.parse(r.stdout);
const exists = (d: string, rel: string) => fs.existsSync(path.join(d, rel));

/** Pointers data/a.csv, data/b.csv, data/sub/c.txt; stages prep → train → evaluate, each output different. */
function project(): { d: string; store: string } {
  const d = makeRepo();
  made.push(d);
  const store = tmpDir('rvc-store-');
  made.push(store);
  rvcOk(d, ['remote', 'add', '-d', 'store', store]);
  const stage = (cmd: string, dep: string, out: string) => `    cmd: ${cmd}\n    deps:\n      - ${dep}\n    outs:\n      - ${out}\n`;
  writeTree(d, {
    'data/a.csv': 'a\n', 'data/b.csv': 'b\n', 'data/sub/c.txt': 'c\n', 'raw.txt': 'r\n',
    'rvc.yaml': `stages:\n  prep:\n${stage('cat raw.txt raw.txt > prepped.txt', 'raw.txt', 'prepped.txt')}`
      + `  train:\n${stage('cat prepped.txt prepped.txt > model.pkl', 'prepped.txt', 'model.pkl')}`
      + `  evaluate:\n${stage('wc -c < model.pkl > metrics.txt', 'model.pkl', 'metrics.txt')}`,
  });
  rvcOk(d, ['add', 'data/a.csv', 'data/b.csv', 'data/sub/c.txt']);
  rvcOk(d, ['repro', '-q']);
  git(d, ['add', '-A']);
  git(d, ['commit', '-q', '-m', 'v1']);
  return { d, store };
}

describe('target flags of the data verbs', () => {
  it('push, status --cloud, pull, checkout, commit and status take --glob, -R and --with-deps as DVC does', () => {
    const { d } = project();
    // --glob: patterns over tracked paths and pointer files, from the current folder, and over stage names.
    expect(json(rvcOk(path.join(d, 'data'), ['push', '--glob', '*.csv', '--json'])).transferred).toBe(2);
    const st = json(rvcOk(d, ['status', '--cloud', '--glob', 'data/**', 'ev*', '--json']));
    expect(st.objects.filter((o: { state: string }) => o.state === 'new').map((o: { paths: string[] }) => o.paths[0]).sort()).toEqual(['data/sub/c.txt', 'metrics.txt']);
    expect(st.counts['in sync']).toBe(2);
    const none = rvc(d, ['push', '--glob', 'nomatch/*']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no tracked path, pointer file or stage matches the pattern 'nomatch\/\*'/);
    // --with-deps: the stage of an output (or a stage named) and every stage upstream of it.
    expect(json(rvcOk(d, ['push', '--with-deps', 'model.pkl', '--json'])).transferred).toBe(2);
    // -R: everything below a folder; a folder with nothing tracked below selects nothing instead of failing.
    fs.mkdirSync(path.join(d, 'empty'));
    expect(rvc(d, ['push', 'empty']).code).toBe(1);
    expect(json(rvcOk(d, ['push', '-R', 'empty', '--json'])).transferred).toBe(0);
    expect(json(rvcOk(d, ['push', '-R', 'data', '--json']))).toMatchObject({ transferred: 1, skipped: 2 });

    // pull in a clone takes the same flags.
    const c = tmpDir('rvc-clone-');
    made.push(c);
    git(path.dirname(c), ['clone', '-q', d, c]);
    rvcOk(c, ['pull', '--glob', 'data/*.csv']);
    expect(exists(c, 'data/a.csv') && exists(c, 'data/b.csv')).toBe(true);
    expect(exists(c, 'data/sub/c.txt') || exists(c, 'model.pkl')).toBe(false);
    rvcOk(c, ['pull', '-d', 'train']);
    expect(exists(c, 'model.pkl') && exists(c, 'prepped.txt')).toBe(true);
    expect(exists(c, 'metrics.txt')).toBe(false);

    // checkout -d restores a stage's outputs and those upstream of it; -R every pointer below a folder.
    for (const f of ['prepped.txt', 'model.pkl', 'metrics.txt', 'data/a.csv', 'data/sub/c.txt']) fs.rmSync(path.join(d, f));
    rvcOk(d, ['checkout', '--with-deps', 'train', '-R', 'data']);
    expect(['prepped.txt', 'model.pkl', 'data/a.csv', 'data/sub/c.txt'].every((f) => exists(d, f))).toBe(true);
    expect(exists(d, 'metrics.txt')).toBe(false);
    rvcOk(d, ['checkout', 'evaluate']);

    // status -d judges the stages upstream too; -R the pointers below the folder.
    fs.writeFileSync(path.join(d, 'data/sub/c.txt'), 'changed\n');
    const sd = json(rvcOk(d, ['status', '-d', 'evaluate', '-R', 'data/sub', '--json']));
    expect(sd.pipeline.stages.map((x: { name: string }) => x.name).sort()).toEqual(['evaluate', 'prep', 'train']);
    expect(sd.outs.map((o: { path: string; workspace: string }) => `${o.path} ${o.workspace}`)).toEqual(['data/sub/c.txt modified']);

    // commit -d records the stage and the stages upstream of it as they are now; -R the pointers below.
    fs.writeFileSync(path.join(d, 'prepped.txt'), 'edited\n');
    fs.writeFileSync(path.join(d, 'model.pkl'), 'edited\n');
    const cm = json(rvcOk(d, ['commit', '-d', 'train', '-R', 'data', '--json']));
    expect(cm.committed.filter((o: { changed: boolean }) => o.changed).map((o: { path: string }) => o.path).sort()).toEqual(['data/sub/c.txt', 'model.pkl', 'prepped.txt']);
  });
});

describe('add --glob and add -o', () => {
  it('add --glob adds each match, leaving out .rvcignore\'d paths and pointer files, and never leaves the repository', () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, { 'data/a.csv': 'a\n', 'data/b.csv': 'b\n', 'data/deep/d.csv': 'd\n', 'data/skip/s.csv': 's\n', 'data/notes.txt': 'n\n', '.rvcignore': 'data/skip/\n' });
    rvcOk(d, ['add', 'data/a.csv']);
    const r = json(rvcOk(path.join(d, 'data'), ['add', '--glob', '**/*.csv', '--json']));
    expect(r.added.map((a: { path: string }) => a.path)).toEqual(['data/a.csv', 'data/b.csv', 'data/deep/d.csv']);
    expect(exists(d, 'data/skip/s.csv.rvc') || exists(d, 'data/notes.txt.rvc')).toBe(false);
    // The pointer files match `data/*.csv*` too, and are left out: nothing is tracked twice.
    expect(json(rvcOk(d, ['add', '--glob', 'data/*.csv*', '--json'])).added.map((a: { path: string }) => a.path)).toEqual(['data/a.csv', 'data/b.csv']);
    const none = rvc(d, ['add', '--glob', 'nothing/*.csv']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nothing in the workspace matches the pattern 'nothing\/\*\.csv'/);
    const outside = rvc(d, ['add', '--glob', '../*']);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/outside the repository/);
    expect(rvc(d, ['add', '--glob', '.rvc/*']).stderr).toMatch(/folder git or rvc keeps its own files in/);
  });

  it('add -o copies data from outside into the workspace and tracks it there; a failure leaves nothing behind', () => {
    const d = makeRepo();
    made.push(d);
    const ext = tmpDir('rvc-ext-');
    made.push(ext);
    writeTree(ext, { 'big.bin': 'payload\n', 'set/x/1.txt': 'one\n', 'set/2.txt': 'two\n', 'bad/ok.txt': 'ok\n' });
    fs.symlinkSync('/etc/hostname', path.join(ext, 'bad/link'));
    // Into an existing folder (or one written with a trailing slash): under the source's name.
    const f = json(rvcOk(d, ['add', path.join(ext, 'big.bin'), '-o', 'imported/', '--json']));
    expect(f.added[0]).toMatchObject({ path: 'imported/big.bin', pointerFile: 'imported/big.bin.rvc' });
    expect(fs.readFileSync(path.join(d, 'imported/big.bin'), 'utf8')).toBe('payload\n');
    expect(fs.readFileSync(path.join(d, 'imported/.gitignore'), 'utf8')).toMatch(/\/big\.bin/);
    // A folder, to a new path whose parents are made; the source is left as it was.
    const s = json(rvcOk(d, ['add', '--out', 'sets/v1', path.join(ext, 'set'), '--json']));
    expect(s.added[0]).toMatchObject({ path: 'sets/v1', nfiles: 2 });
    expect(fs.readFileSync(path.join(d, 'sets/v1/x/1.txt'), 'utf8')).toBe('one\n');
    expect(exists(ext, 'set/2.txt')).toBe(true);
    // An existing destination file is not overwritten.
    const again = rvc(d, ['add', path.join(ext, 'big.bin'), '-o', 'imported/big.bin']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    // A source add refuses (a symlink out of the repository): no copy, no pointer, no new folders.
    const bad = rvc(d, ['add', path.join(ext, 'bad'), '-o', 'fresh/deep/bad']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/symbolic link/);
    expect(exists(d, 'fresh')).toBe(false);
    // The destination is a user path like any other.
    expect(rvc(d, ['add', path.join(ext, 'big.bin'), '-o', '.git/hooks/pre-commit']).stderr).toMatch(/folder git or rvc keeps its own files in/);
    expect(rvc(d, ['add', '.', '-o', 'copy-of-repo']).stderr).toMatch(/into itself/);
    expect(rvc(d, ['add', path.join(ext, 'big.bin'), path.join(ext, 'set'), '-o', 'two']).code).toBe(2);
  });
});
