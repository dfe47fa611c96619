import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir, RVC_BIN } from '../helpers/cli.js';

/**
 * `rvc verify`: stages rerun in a copy of the commit, outputs compared with rvc.lock; the
 * workspace, rvc.lock and the cache stay as they were.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function repoWith(files: Record<string, string>, env: Record<string, string> = {}): string {
  const d = makeRepo();
  made.push(d);
  writeTree(d, files);
  rvcOk(d, ['repro'], env);
  git(d, ['add', '-A']);
  git(d, ['commit', '-qm', 'pipeline']);
  return d;
}

/** Everything verify must leave alone: workspace files (not .git, not .rvc/tmp), the cache included. */
function snapshot(d: string): Record<string, string> {
  const all = readTree(d);
  return Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith('.git/') && !k.startsWith('.rvc/tmp/')));
}

const json = <T = any>(r: { stdout: string }): T => JSON.parse(r.stdout) as T;
const verdicts = (r: { stdout: string }): Record<string, string> =>
  Object.fromEntries(json<{ stages: { stage: string; verdict: string }[] }>(r).stages.map((s) => [s.stage, s.verdict]));

describe('rvc verify', () => {
  it('a deterministic pipeline verifies bit-exact from the cache, and changes nothing', () => {
    const d = repoWith({
      'in.txt': 'hello\n',
      'rvc.yaml': `stages:
  prep:
    cmd: tr a-z A-Z < in.txt > a.txt
    deps: [in.txt]
    outs: [a.txt]
  train:
    cmd: cat a.txt a.txt > model.txt
    deps: [a.txt]
    outs: [model.txt]
`,
    });
    // The workspace's copy of a dependency is not what verify runs on: the cache's is.
    fs.rmSync(path.join(d, 'a.txt'));
    fs.writeFileSync(path.join(d, 'model.txt'), 'edited\n');
    const before = snapshot(d);
    const r = rvc(d, ['verify', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(verdicts(r)).toEqual({ prep: 'bit-exact', train: 'bit-exact' });
    expect(json(r).reproduced).toBe(true);
    expect(snapshot(d)).toEqual(before);
    // The copy is gone, from disk and from git's worktree list; the result is recorded.
    expect(fs.readdirSync(path.join(d, '.rvc/tmp/verify'))).toEqual(['last.json']);
    expect(git(d, ['worktree', 'list']).trim().split('\n')).toHaveLength(1);
    const last = JSON.parse(fs.readFileSync(path.join(d, '.rvc/tmp/verify/last.json'), 'utf8'));
    expect(last).toMatchObject({ rev: 'HEAD', commit: git(d, ['rev-parse', 'HEAD']).trim(), stages: [{ stage: 'prep', verdict: 'bit-exact' }, { stage: 'train', verdict: 'bit-exact' }] });
    expect(Number.isNaN(Date.parse(last.date))).toBe(false);
    // Two stages at once, each in its own copy: the same verdicts.
    const j = rvc(d, ['verify', '-j', '2']);
    expect(j.code, j.stderr).toBe(0);
    expect(j.stdout).toContain('prep: bit-exact\ntrain: bit-exact\nAll 2 stages reproduce HEAD.');
    expect(snapshot(d)).toEqual(before);
  });

  it('a stage writing random output is not reproduced, and two runs show it is nondeterministic', () => {
    const d = repoWith({
      'rvc.yaml': `stages:
  noisy:
    cmd: head -c 16 /dev/urandom | od -An -tx1 > r.txt
    outs: [r.txt]
  slow:
    cmd: if [ -n "$VERIFY_MARK" ]; then touch "$VERIFY_MARK"; sleep 30 & wait; fi; echo done > s.txt
    outs: [s.txt]
  side:
    cmd: date +%s%N > side.log && mkdir -p logs && date +%s%N > logs/run.log && echo ok > o.txt
    outs: [o.txt]
`,
    });
    const before = snapshot(d);
    const r = rvc(d, ['verify', '--runs', '2', '--json']);
    expect(r.code).toBe(1);
    // New outputs are hashed, never stored: the cache holds exactly what it held.
    expect(snapshot(d)).toEqual(before);
    const s = json(r).stages[0];
    expect(s.verdict).toBe('not-reproduced');
    expect(s.differences.map((x: { path: string }) => x.path)).toEqual(['r.txt']);
    expect(s.diagnosis).toEqual({ kind: 'nondeterministic', outputs: ['r.txt'] });
    expect(JSON.parse(fs.readFileSync(path.join(d, '.rvc/tmp/verify/last.json'), 'utf8')).stages)
      .toEqual([{ stage: 'noisy', verdict: 'not-reproduced' }, { stage: 'side', verdict: 'bit-exact' }, { stage: 'slow', verdict: 'bit-exact' }]);
    // A stage writing beside its outputs reproduces them, and the files it did not declare are named.
    const side = json(r).stages.find((x: { stage: string }) => x.stage === 'side');
    expect(side.undeclaredWrites).toEqual(['logs/run.log', 'side.log']);
    expect(json(r).stages.find((x: { stage: string }) => x.stage === 'slow').undeclaredWrites).toBeUndefined();
    const text = rvc(d, ['verify', 'side']);
    expect(text.code).toBe(0);
    expect(text.stderr).toContain('side wrote files it does not declare as outputs: logs/run.log, side.log');
  });

  it('Ctrl-C stops the rerun and removes the copy', async () => {
    const d = repoWith({
      'rvc.yaml': `stages:
  slow:
    cmd: if [ -n "$VERIFY_MARK" ]; then touch "$VERIFY_MARK"; sleep 30 & wait; fi; echo done > s.txt
    outs: [s.txt]
`,
    });
    const mark = path.join(d, 'started');
    const child = spawn(process.execPath, [RVC_BIN, 'verify'], { cwd: d, env: { ...process.env, NO_COLOR: '1', VERIFY_MARK: mark }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!fs.existsSync(mark) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(fs.readdirSync(path.join(d, '.rvc/tmp/verify'))).toEqual([]);
    expect(git(d, ['worktree', 'list']).trim().split('\n')).toHaveLength(1);
  });

  it('a metric differing in the 6th decimal passes with a tolerance and fails without', () => {
    // Recorded with ACC set; the rerun (without it) writes 0.9.
    const d = repoWith({
      'gen.sh': 'printf \'{"acc": %s, "n": 3}\' "${ACC:-0.9}" > metrics.json\n',
      'rvc.yaml': `stages:
  train:
    cmd: sh gen.sh
    deps: [gen.sh]
    metrics: [metrics.json]
`,
    }, { ACC: '0.900001' });
    const strict = rvc(d, ['verify', '--json']);
    expect(strict.code).toBe(1);
    const s = json(strict).stages[0];
    expect(s.verdict).toBe('not-reproduced');
    expect(s.differences[0].metrics).toEqual([{ file: 'metrics.json', key: 'acc', recorded: 0.900001, now: 0.9 }]);
    const abs = rvc(d, ['verify', '--tolerance', 'acc=0.00001', '--json']);
    expect(abs.code, abs.stderr).toBe(0);
    expect(verdicts(abs)).toEqual({ train: 'within-tolerance' });
    // Relative, for this file only: 0.0001 % of 0.900001 is less than the difference.
    const rel = rvc(d, ['verify', '--tolerance', 'metrics.json:acc=0.0001%']);
    expect(rel.code).toBe(1);
    expect(rel.stdout).toContain('metrics.json: acc 0.900001 recorded, 0.9 now');
  });

  it('a tool version the output depends on: drift named by its probe, bit-exact with the recorded version', () => {
    // The command writes the tool version; a project probe records it with every run.
    const d = repoWith({
      'rvc.yaml': `environment:
  commands:
    tool: echo $TOOL_VERSION
stages:
  build:
    cmd: echo "built by $TOOL_VERSION" > out.txt
    outs: [out.txt]
`,
    }, { TOOL_VERSION: '1' });
    const lock = fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8');
    expect(lock).toMatch(/probes:\s+tool: "?1"?/);
    // Status sees the same drift, informational: the stage stays up to date.
    const st = rvc(d, ['status'], { TOOL_VERSION: '2' });
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain('build: environment differs from its last run (informational): probes.tool 1 → 2');
    const drift = rvc(d, ['verify'], { TOOL_VERSION: '2' });
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain('build: NOT reproduced\n  out.txt: differs');
    expect(drift.stdout).toContain('  diagnosis: the environment changed since the recorded run:\n    probes.tool: 1 → 2\n');
    const j = json(rvc(d, ['verify', '--json'], { TOOL_VERSION: '2' })).stages[0];
    expect(j.verdict).toBe('not-reproduced');
    expect(j.diagnosis).toEqual({ kind: 'environment-drift', changes: [{ key: 'probes.tool', from: '1', to: '2' }] });
    const same = rvc(d, ['verify', '--json'], { TOOL_VERSION: '1' });
    expect(same.code, same.stderr).toBe(0);
    expect(verdicts(same)).toEqual({ build: 'bit-exact' });
  });

  it('bad input: no rvc.lock, missing cache objects, bad flags — clear errors, nothing changed', () => {
    const d = repoWith({
      'in.txt': 'x\n',
      'rvc.yaml': `stages:
  a:
    cmd: cat in.txt > a.txt
    deps: [in.txt]
    outs: [a.txt]
  b:
    cmd: cat a.txt > b.txt
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: cat local.txt > c.txt
    outs: [c.txt]
`,
      'local.txt': 'only in this workspace\n',
    });
    git(d, ['rm', '-q', '--cached', 'local.txt']);
    fs.writeFileSync(path.join(d, 'in.txt'), 'changed without repro\n');
    git(d, ['commit', '-qam', 'local.txt stays out of git, in.txt changed']);
    // The first commit (rvc init) has no rvc.lock.
    const none = rvc(d, ['verify', '--rev', 'HEAD~2', '--json']);
    expect(none.code).toBe(1);
    expect(json(none).error.code).toBe('STAGE_NOT_FOUND');
    // A stage that reads a file the commit does not have cannot be rerun in isolation; a stage
    // whose committed inputs are not those its record names cannot be compared with it.
    const c = rvc(d, ['verify', 'a', 'c', '--json']);
    expect(c.code).toBe(1);
    const errs = json(c).stages.map((s: { stage: string; verdict: string; error: { code: string; message: string } }) => [s.stage, s.verdict, s.error.code]);
    expect(errs).toEqual([['a', 'error', 'STAGE_INVALID'], ['c', 'error', 'STAGE_FAILED']]);
    expect(json(c).stages[0].error.message).toContain("dep-changed 'in.txt'");
    expect(rvc(d, ['verify', '--runs', '0']).code).toBe(2);
    const remote = tmpDir();
    made.push(remote);
    rvcOk(d, ['remote', 'add', '-d', '--local', 'store', remote]);
    rvcOk(d, ['push', '-q']);
    rmrf(path.join(d, '.rvc/cache'));
    const before = snapshot(d);
    const miss = rvc(d, ['verify', 'b', '--json']);
    expect(miss.code).toBe(1);
    expect(json(miss).error.code).toBe('OBJECT_MISSING');
    expect(json(miss).error.message).toContain('a.txt');
    expect(json(miss).error.hint).toContain('rvc verify --pull');
    expect(snapshot(d)).toEqual(before);
    // --pull downloads the missing dependency first.
    const pulled = rvc(d, ['verify', 'b', '--pull', '--json']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(verdicts(pulled)).toEqual({ b: 'bit-exact' });
    expect(fs.readdirSync(path.join(d, '.rvc/tmp/verify'))).toEqual(['last.json']);
    expect(git(d, ['worktree', 'list']).trim().split('\n')).toHaveLength(1);
  });
});
