import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcAsync, rvcOk, makeRepo, writeTree, readTree, rmrf, git } from '../helpers/cli.js';

/**
 * What `rvc repro` may delete (never git-tracked or pointer-tracked data, never rvc's own files,
 * never content saved nowhere unless --force), that objects it stores are safe from a concurrent
 * gc until rvc.lock names them, and that it never writes an rvc.lock it could not read back.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

function repoWith(files: Record<string, string>): string {
  const d = makeRepo();
  made.push(d);
  writeTree(d, files);
  return d;
}

function read(d: string, rel: string): string {
  return fs.readFileSync(path.join(d, rel), 'utf8');
}

describe('repro refuses outputs a stage must never own', () => {
  it('a typo naming a git-tracked source file, rvc.yaml, a pointer or tracked data: refused before anything runs, nothing deleted', () => {
    const d = repoWith({ 'src/train.py': 'print("my uncommitted work")\n', 'data/a.txt': 'A\n', 'in.txt': 'x\n' });
    git(d, ['add', 'src/train.py']);
    git(d, ['commit', '-q', '-m', 'code']);
    fs.appendFileSync(path.join(d, 'src/train.py'), '# edited, not committed\n');
    rvcOk(d, ['add', 'data']);
    const source = read(d, 'src/train.py');
    const cases: [string, string][] = [
      ['src/train.py', 'PATH_TRACKED_BY_GIT'],
      ['src', 'PATH_TRACKED_BY_GIT'],
      ['rvc.yaml', 'PATH_OVERLAPS'],
      ['data.rvc', 'PATH_OVERLAPS'],
      ['data/a.txt', 'PATH_OVERLAPS'],
      ['.gitignore', 'PATH_OVERLAPS'],
    ];
    for (const [out, code] of cases) {
      const yaml = `stages:\n  first:\n    cmd: echo ran > first.txt\n    outs: [first.txt]\n  train:\n    cmd: echo ran > ran.txt\n    deps: [in.txt]\n    outs: [${out}]\n`;
      writeTree(d, { 'rvc.yaml': yaml });
      // --force (run regardless, delete unsaved content) does not override these refusals.
      for (const args of out === 'src/train.py' ? [['repro', '--json'], ['repro', '--force', '--json']] : [['repro', '--force', '--json']]) {
        const r = rvc(d, args);
        expect(r.code, `${out}: ${r.stderr}`).toBe(1);
        expect(json(r).error.code, out).toBe(code);
        expect(json(r).error.hint).toBeTruthy();
        // Nothing ran (not even the unrelated stage), nothing was deleted.
        expect(fs.existsSync(path.join(d, 'first.txt')), out).toBe(false);
        expect(fs.existsSync(path.join(d, 'ran.txt')), out).toBe(false);
        expect(read(d, 'src/train.py')).toBe(source);
        expect(read(d, 'rvc.yaml')).toBe(yaml);
        expect(readTree(path.join(d, 'data'))).toEqual({ 'a.txt': 'A\n' });
        expect(fs.existsSync(path.join(d, 'data.rvc'))).toBe(true);
      }
    }
    // stage add refuses the same outputs through the same check.
    fs.rmSync(path.join(d, 'rvc.yaml'));
    for (const [out, code] of cases) {
      const r = rvc(d, ['stage', 'add', '-n', 's', '-o', out, '--json', 'echo hi']);
      expect(r.code, out).toBe(1);
      expect(json(r).error.code, out).toBe(code);
    }
    expect(fs.existsSync(path.join(d, 'rvc.yaml'))).toBe(false);
  });
});

describe('repro deletes only content it can get back', () => {
  const GEN = `stages:
  gen:
    cmd: mkdir -p out && cat in.txt > out/a.txt && echo b > out/b.txt && cat in.txt > one.txt
    deps: [in.txt]
    outs: [out, one.txt]
`;

  it('refuses to delete hand edits the cache does not hold, naming the files; --force deletes them', () => {
    const d = repoWith({ 'rvc.yaml': GEN, 'in.txt': 'v1\n' });
    rvcOk(d, ['repro']);
    // Hand edits in a cached folder output and a file output, then the stage goes stale.
    writeTree(d, { 'out/a.txt': 'precious edit\n', 'out/new.txt': 'precious new file\n', 'in.txt': 'v2\n' });
    const r = rvc(d, ['repro', '--json']);
    expect(r.code).toBe(1);
    const st = json(r).stages[0];
    expect(st.status).toBe('failed');
    expect(st.error.code).toBe('CHECKOUT_WOULD_LOSE_DATA');
    expect(st.error.message).toContain("'out/a.txt'");
    expect(st.error.message).toContain("'out/new.txt'");
    expect(st.error.message).not.toContain('out/b.txt');
    expect(st.error.hint).toContain('rvc repro --force');
    expect(readTree(path.join(d, 'out'))).toEqual({ 'a.txt': 'precious edit\n', 'b.txt': 'b\n', 'new.txt': 'precious new file\n' });

    // A single-file output edited by hand is named too.
    fs.rmSync(path.join(d, 'out/new.txt'));
    writeTree(d, { 'out/a.txt': 'v1\n', 'one.txt': 'precious\n' });
    const r2 = rvc(d, ['repro', '--json']);
    expect(json(r2).stages[0].error.code).toBe('CHECKOUT_WOULD_LOSE_DATA');
    expect(json(r2).stages[0].error.message).toContain("'one.txt'");
    expect(read(d, 'one.txt')).toBe('precious\n');

    // A pointer inside the output folder is never deleted, --force or not.
    writeTree(d, { 'out/sub/data.rvc': 'outs: []\n' });
    const r3 = rvc(d, ['repro', '--force', '--json']);
    expect(json(r3).stages[0].error.code).toBe('PATH_OVERLAPS');
    expect(json(r3).stages[0].error.message).toContain('out/sub/data.rvc');
    expect(read(d, 'out/sub/data.rvc')).toBe('outs: []\n');
    rmrf(path.join(d, 'out/sub'));

    writeTree(d, { 'out/new.txt': 'x\n' });
    rvcOk(d, ['repro', '--force']);
    expect(readTree(path.join(d, 'out'))).toEqual({ 'a.txt': 'v2\n', 'b.txt': 'b\n' });
    expect(read(d, 'one.txt')).toBe('v2\n');
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.clean).toBe(true);
  });

  it('replaces outputs the previous run produced: cached ones, and a cache: false metrics file committed to git', () => {
    const d = repoWith({
      'in.txt': 'v1\n',
      'train.sh': 'cat in.txt > model.bin; printf \'{"acc": %d}\\n\' $(wc -c < in.txt) > metrics.json\n',
      'rvc.yaml': `stages:
  train:
    cmd: sh train.sh
    deps: [in.txt, train.sh]
    outs: [model.bin]
    metrics:
      - metrics.json:
          cache: false
`,
    });
    rvcOk(d, ['repro']);
    git(d, ['add', 'metrics.json', 'rvc.yaml', 'rvc.lock', 'in.txt', 'train.sh', '.gitignore']);
    git(d, ['commit', '-q', '-m', 'run 1']);
    writeTree(d, { 'in.txt': 'version two\n' });
    const r = rvcOk(d, ['repro', '--json']);
    expect(json(r).stages[0].status).toBe('ran');
    expect(read(d, 'model.bin')).toBe('version two\n');
    expect(JSON.parse(read(d, 'metrics.json'))).toEqual({ acc: 12 });
    // And back to the first input (a cache: false output: never restored, always run).
    writeTree(d, { 'in.txt': 'v1\n' });
    expect(json(rvcOk(d, ['repro', '--json'])).stages[0].status).toBe('ran');

    // A run that fails after writing part of its outputs: the next run replaces the leftovers
    // (written by the command, never recorded) without asking.
    writeTree(d, { 'train.sh': 'cat in.txt > model.bin; echo partial > metrics.json; exit 1\n' });
    expect(json(rvc(d, ['repro', '--json'])).stages[0].status).toBe('failed');
    expect(read(d, 'metrics.json')).toBe('partial\n');
    writeTree(d, { 'train.sh': 'cat in.txt > model.bin; echo \'{"acc": 1}\' > metrics.json\n' });
    expect(json(rvcOk(d, ['repro', '--json'])).stages[0].status).toBe('ran');
    expect(JSON.parse(read(d, 'metrics.json'))).toEqual({ acc: 1 });
  });
});

describe('objects in flight are safe from gc', () => {
  it('repro racing gc --workspace never leaves rvc.lock naming a missing object', async () => {
    // 400 files per run, half of them the same in every run (already in the cache and
    // unreferenced once the lock moves on), so storing takes long enough for gc to overlap.
    const d = repoWith({
      'in.txt': '0\n',
      'gen.sh': 'mkdir -p out; v=$(cat in.txt); i=0; while [ $i -lt 200 ]; do echo "$v $i" > out/v$i; echo "same $i $((v % 2))" > out/s$i; i=$((i+1)); done\n',
      'rvc.yaml': 'stages:\n  gen:\n    cmd: sh gen.sh\n    deps: [in.txt, gen.sh]\n    outs: [out]\n',
    });
    for (let i = 1; i <= 2; i++) {
      writeTree(d, { 'in.txt': `${i}\n` });
      let done = false;
      const repro = rvcAsync(d, ['repro', '--no-run-cache'], { RVC_LOCK_WAIT: '60' }).finally(() => (done = true));
      let gcs = 0;
      while (!done) {
        const g = await rvcAsync(d, ['gc', '--workspace', '-q'], { RVC_LOCK_WAIT: '60' });
        expect(g.code, g.stderr).toBe(0);
        gcs++;
      }
      const r = await repro;
      expect(r.code, r.stderr).toBe(0);
      expect(gcs).toBeGreaterThan(0);
      // Everything rvc.lock names is in the cache: the output restores byte for byte.
      const want = readTree(path.join(d, 'out'));
      rvcOk(d, ['gc', '--workspace', '-q']);
      rmrf(path.join(d, 'out'));
      rvcOk(d, ['checkout']);
      expect(readTree(path.join(d, 'out'))).toEqual(want);
      expect(Object.keys(want)).toHaveLength(400);
    }
    // Every pin was released once its rvc.lock entry was written.
    expect(fs.readdirSync(path.join(d, '.rvc/tmp/pins'))).toEqual([]);
  });
});

describe('repro never writes an rvc.lock it would refuse to read', () => {
  it('params just under the 16 MiB cap: the stage fails naming rvc.lock, which stays readable', () => {
    const d = repoWith({
      'params.json': JSON.stringify({ big: 'small' }),
      'rvc.yaml': 'stages:\n  s:\n    cmd: echo done > out.txt\n    params:\n      - params.json:\n    outs: [out.txt]\n',
    });
    rvcOk(d, ['repro']);
    const lock = read(d, 'rvc.lock');
    // The file itself is under the cap (readable); recorded in rvc.lock it would be over it.
    const big = JSON.stringify({ big: 'x'.repeat(16 * 1024 * 1024 - 40) });
    expect(big.length).toBeLessThan(16 * 1024 * 1024);
    fs.writeFileSync(path.join(d, 'params.json'), big);
    const r = rvc(d, ['repro', '--json']);
    expect(r.code).toBe(1);
    const st = json(r).stages[0];
    expect(st.status).toBe('failed');
    expect(st.error.code).toBe('YAML_INVALID');
    expect(st.error.message).toContain('rvc.lock');
    expect(st.error.message).toMatch(/over the \d+-byte limit/);
    expect(read(d, 'rvc.lock')).toBe(lock);
    // Every other command still works.
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.clean).toBe(false);
    rvcOk(d, ['stage', 'list']);
    rvcOk(d, ['gc', '--workspace']);
    fs.writeFileSync(path.join(d, 'params.json'), JSON.stringify({ big: 'small again' }));
    rvcOk(d, ['repro']);
  });
});
