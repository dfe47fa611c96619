import { describe, it, expect, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { rvcOk, makeRepo, writeTree, rmrf, tmpDir, RVC_BIN, type RunResult } from '../helpers/cli.js';

/**
 * DVC's flags of `repro` (--force-downstream, -i, --no-commit, --allow-missing, --pull) and the
 * stage commands around it: freeze/unfreeze, remove <stage>, stage add --run, dag --md/--outs.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

/** a → b → c, each appending its name to runs.log. */
const CHAIN = `stages:
  a:
    cmd: echo a >> runs.log && cat in.txt > a.txt
    deps: [in.txt]
    outs: [a.txt]
  b:
    cmd: echo b >> runs.log && cat a.txt > b.txt
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: echo c >> runs.log && cat b.txt > c.txt
    deps: [b.txt]
    outs: [c.txt]
`;

function repoWith(files: Record<string, string>): string {
  const d = makeRepo();
  made.push(d);
  writeTree(d, files);
  return d;
}

/** The stages that ran since the last call. */
function ran(d: string): string[] {
  const f = path.join(d, 'runs.log');
  if (!fs.existsSync(f)) return [];
  const names = fs.readFileSync(f, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(f);
  return names;
}

const read = (d: string, rel: string): string => fs.readFileSync(path.join(d, rel), 'utf8');
const json = <T = any>(r: { stdout: string }): T => JSON.parse(r.stdout) as T;
const statuses = (r: RunResult): Record<string, string> =>
  Object.fromEntries(json<{ stages: { name: string; status: string }[] }>(r).stages.map((s) => [s.name, s.status]));

/** rvc with `input` on stdin (a pipe, not a terminal). */
function rvcInput(cwd: string, args: string[], input: string): RunResult {
  const r = spawnSync(process.execPath, [RVC_BIN, ...args], {
    cwd, input, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000, killSignal: 'SIGKILL',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The cache file of the object rvc.lock records for `out`. */
function cachedObject(d: string, out: string): string {
  const m = new RegExp(`path: ${out.replace('.', '\\.')}\\n\\s+hash: (\\w+)\\n\\s+oid: ([0-9a-f]+)`).exec(read(d, 'rvc.lock'))!;
  return path.join(d, '.rvc/cache', m[1]!, m[2]!.slice(0, 2), m[2]!.slice(2));
}

describe('repro flags', () => {
  it('--force-downstream reruns the stages after one that ran; -i asks, and a no skips the stage and what needs it', () => {
    const d = repoWith({ 'in.txt': 'one\n', 'rvc.yaml': CHAIN });
    rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['a', 'b', 'c']);

    // a's command changes but writes the same a.txt: b and c are up to date unless forced.
    fs.writeFileSync(path.join(d, 'rvc.yaml'), CHAIN.replace('echo a >> runs.log &&', 'echo a >> runs.log;'));
    const f = rvcOk(d, ['repro', '--force-downstream', 'c', '--json']);
    expect(ran(d)).toEqual(['a', 'b', 'c']);
    expect(json(f).stages.map((s: { reasons: { kind: string }[] }) => s.reasons[0]?.kind)).toEqual(['cmd-changed', 'forced-downstream', 'forced-downstream']);

    // Answers come from stdin: yes to a, no to b; c depends on b and is skipped.
    fs.writeFileSync(path.join(d, 'rvc.yaml'), CHAIN.replace('echo a >> runs.log &&', 'echo a >> runs.log &&  '));
    const i = rvcInput(d, ['repro', '-i', '--force-downstream', '--json'], 'y\nn\n');
    expect(i.code, i.stderr).toBe(0);
    expect(ran(d)).toEqual(['a']);
    expect(statuses(i)).toEqual({ a: 'ran', b: 'declined', c: 'skipped' });
    expect(i.stderr).toContain("Going to run stage 'b'");
    expect(i.stderr).toContain("upstream stage 'b' was not run");
  });

  it('--no-commit records rvc.lock but caches nothing until commit; --allow-missing skips stages that only miss data', () => {
    const d = repoWith({ 'in.txt': 'one\n', 'rvc.yaml': CHAIN });
    rvcOk(d, ['repro', '--no-commit']);
    expect(ran(d)).toEqual(['a', 'b', 'c']);
    expect(read(d, 'rvc.lock')).toContain('path: c.txt');
    for (const o of ['a.txt', 'b.txt', 'c.txt']) expect(fs.existsSync(cachedObject(d, o))).toBe(false);
    expect(fs.existsSync(path.join(d, '.rvc/cache/runs'))).toBe(false);

    const c = rvcOk(d, ['commit']);
    expect(c.stdout).toContain("Stored a.txt in the cache (stage 'a'");
    for (const o of ['a.txt', 'b.txt', 'c.txt']) expect(fs.existsSync(cachedObject(d, o))).toBe(true);

    // Outputs and cache gone: every stage only misses data, so nothing runs.
    for (const p of ['a.txt', 'b.txt', 'c.txt', '.rvc/cache']) rmrf(path.join(d, p));
    const dry = rvcOk(d, ['repro', '--allow-missing', '--dry', '--json']);
    expect(json<{ stages: { name: string; status: string; missingData?: string[] }[] }>(dry).stages)
      .toEqual([
        { name: 'a', status: 'up to date', reasons: [], missingData: ['a.txt'] },
        { name: 'b', status: 'up to date', reasons: [], missingData: ['a.txt', 'b.txt'] },
        { name: 'c', status: 'up to date', reasons: [], missingData: ['b.txt', 'c.txt'] },
      ]);
    // A real change is still run: a's input changed, so a runs (and b, c after it).
    fs.writeFileSync(path.join(d, 'in.txt'), 'two\n');
    const r = rvcOk(d, ['repro', '--allow-missing', '--json']);
    expect(statuses(r)).toEqual({ a: 'ran', b: 'ran', c: 'ran' });
    expect(ran(d)).toEqual(['a', 'b', 'c']);
  });

  it('--pull checks out missing dependencies and restores outputs from rvc.lock or the run-cache', () => {
    const d = repoWith({
      'in.txt': 'v1\n', 'z.txt': 'z\n',
      'rvc.yaml': `${CHAIN.split('  c:')[0]}  z:\n    cmd: echo z >> runs.log && cat z.txt > z.out\n    deps: [z.txt]\n    outs: [z.out]\n`,
    });
    const store = tmpDir();
    made.push(store);
    rvcOk(d, ['add', 'in.txt']);
    rvcOk(d, ['repro']);
    fs.writeFileSync(path.join(d, 'in.txt'), 'v2\n');
    rvcOk(d, ['add', 'in.txt']);
    rvcOk(d, ['repro']);
    // Back to v1: rvc.lock records the v2 run of a and b; the run-cache has the v1 run.
    fs.writeFileSync(path.join(d, 'in.txt'), 'v1\n');
    rvcOk(d, ['add', 'in.txt']);
    rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    rvcOk(d, ['push', '--run-cache']);
    expect(ran(d)).toEqual(['a', 'b', 'z', 'a', 'b']);

    // A fresh clone's state: no cache, no data.
    for (const p of ['.rvc/cache', 'in.txt', 'a.txt', 'b.txt', 'z.out']) rmrf(path.join(d, p));
    const r = rvcOk(d, ['repro', '--pull', '--json']);
    expect(statuses(r)).toEqual({ a: 'restored', b: 'restored', z: 'restored' });
    expect(ran(d)).toEqual([]);
    expect(json(r).pulled.checkedOut).toEqual(['in.txt']);
    expect(read(d, 'b.txt')).toBe('v1\n');
    expect(read(d, 'z.out')).toBe('z\n');

    // -s b: a is not run, so its output that b reads is pulled as rvc.lock records it.
    for (const p of ['.rvc/cache', 'a.txt', 'b.txt']) rmrf(path.join(d, p));
    const s = rvcOk(d, ['repro', '--pull', '-s', 'b', '--json']);
    expect(statuses(s)).toEqual({ b: 'restored' });
    expect(json(s).pulled.checkedOut).toEqual(['a.txt']);
    expect(ran(d)).toEqual([]);
  });
});

describe('stage commands', () => {
  it('freeze/unfreeze edit one line; stage add --run runs the new stage; dag --md/--outs; remove <stage> [--outs]', () => {
    const d = repoWith({ 'in.txt': 'one\n', 'rvc.yaml': CHAIN });
    rvcOk(d, ['repro']);
    ran(d);

    rvcOk(d, ['freeze', 'b']);
    expect(read(d, 'rvc.yaml')).toBe(CHAIN.replace('    outs: [b.txt]\n', '    outs: [b.txt]\n    frozen: true\n'));
    fs.writeFileSync(path.join(d, 'in.txt'), 'two\n');
    rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['a']);
    rvcOk(d, ['unfreeze', 'rvc.yaml:b']);
    expect(read(d, 'rvc.yaml')).toBe(CHAIN);

    const add = rvcOk(d, ['stage', 'add', '-n', 'd', '--run', '-d', 'c.txt', '-o', 'd.txt', 'cat c.txt > d.txt']);
    expect(add.stdout).toContain("Running stage 'd'");
    expect(read(d, 'd.txt')).toBe('one\n');
    expect(read(d, 'rvc.lock')).toContain('path: d.txt');
    expect(read(d, '.gitignore')).toContain('/d.txt');

    const md = rvcOk(d, ['dag', '--md']).stdout;
    expect(md.startsWith('```mermaid\nflowchart TD\n')).toBe(true);
    expect(md.endsWith('```\n')).toBe(true);
    expect(json(rvcOk(d, ['dag', '--outs', '--json']))).toEqual({
      outs: ['a.txt', 'b.txt', 'c.txt', 'd.txt'], edges: [['a.txt', 'b.txt'], ['b.txt', 'c.txt'], ['c.txt', 'd.txt']],
    });

    const rm = rvcOk(d, ['remove', 'd', '--outs']);
    expect(rm.stdout).toContain("Removed stage 'd' from rvc.yaml");
    expect(read(d, 'rvc.yaml')).toBe(CHAIN);
    expect(fs.existsSync(path.join(d, 'd.txt'))).toBe(false);
    expect(read(d, 'rvc.lock')).not.toContain('d.txt');
    expect(read(d, '.gitignore')).not.toContain('/d.txt');
    // Without --outs the data stays, untracked.
    rvcOk(d, ['remove', 'c']);
    expect(read(d, 'c.txt')).toBe('one\n');
    expect(read(d, '.gitignore')).not.toContain('/c.txt');
  });
});
