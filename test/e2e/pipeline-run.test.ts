import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, makeRepo, writeTree, rmrf, RVC_BIN } from '../helpers/cli.js';

/**
 * How `rvc repro` runs commands: failures and -k, parallel stages, graph errors caught before
 * anything runs, Ctrl-C, the environment commands get.
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

function ran(d: string): string[] {
  const f = path.join(d, 'runs.log');
  if (!fs.existsSync(f)) return [];
  const names = fs.readFileSync(f, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(f);
  return names;
}

function read(d: string, rel: string): string {
  return fs.readFileSync(path.join(d, rel), 'utf8');
}

/** a → b → c and a → d; b fails when b.cfg says so. */
const BRANCHES = `stages:
  a:
    cmd: echo a >> runs.log && echo A > a.txt
    outs: [a.txt]
  b:
    cmd: >-
      echo b >> runs.log;
      if grep -q fail b.cfg; then echo "boom: bad config" >&2; exit 3; fi;
      cat a.txt b.cfg > b.txt
    deps: [a.txt, b.cfg]
    outs: [b.txt]
  c:
    cmd: echo c >> runs.log && cat b.txt > c.txt
    deps: [b.txt]
    outs: [c.txt]
  d:
    cmd: echo d >> runs.log && cat a.txt d.cfg > d.txt
    deps: [a.txt, d.cfg]
    outs: [d.txt]
`;

describe('a failing stage', () => {
  it('keeps its previous lock entry, stops downstream stages, and with -k lets independent branches go on', () => {
    const d = repoWith({ 'rvc.yaml': BRANCHES, 'b.cfg': 'ok', 'd.cfg': 'd1' });
    rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['a', 'b', 'c', 'd']);
    const lock = read(d, 'rvc.lock');

    writeTree(d, { 'b.cfg': 'fail', 'd.cfg': 'd2' });
    const r = rvc(d, ['repro']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stage 'b' failed: `.*` exited with code 3/);
    expect(r.stderr).toContain('boom: bad config');
    expect(r.stderr).toMatch(/stage 'c' skipped: upstream stage 'b' failed/);
    expect(r.stderr).toMatch(/1 stage failed: b \(2 stages not run\)/);
    // Without -k the run stops at the failure: d, independent of b, did not start either.
    expect(ran(d)).toEqual(['b']);
    expect(read(d, 'rvc.lock')).toBe(lock);
    expect(fs.existsSync(path.join(d, 'b.txt'))).toBe(false);

    const k = rvc(d, ['repro', '-k', '--json']);
    expect(k.code).toBe(1);
    const res = json(k);
    expect(res.stages.map((s: any) => [s.name, s.status])).toEqual([['a', 'up to date'], ['b', 'failed'], ['c', 'skipped'], ['d', 'ran']]);
    const b = res.stages.find((s: any) => s.name === 'b');
    expect(b).toMatchObject({ exitCode: 3, stderrTail: 'boom: bad config' });
    // b.txt was removed before the failed run, so it is missing too.
    expect(b.reasons).toEqual([{ kind: 'dep-changed', path: 'b.cfg' }, { kind: 'out-missing', path: 'b.txt' }]);
    expect(ran(d)).toEqual(['b', 'd']);
    const after = read(d, 'rvc.lock');
    // d's entry changed, b's did not.
    const entry = (text: string, name: string) => text.split(/\n(?=  [a-z]+:\n)/).find((b) => b.startsWith(`  ${name}:\n`));
    expect(entry(after, 'b')).toBeDefined();
    expect(entry(after, 'b')).toBe(entry(lock, 'b'));
    expect(entry(after, 'd')).not.toBe(entry(lock, 'd'));
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.stages.filter((s: any) => s.state === 'stale').map((s: any) => s.name)).toEqual(['b', 'c']);
  });

  it('runs a list of commands in order and stops at the first that fails', () => {
    const d = repoWith({
      'rvc.yaml': `stages:
  many:
    cmd:
      - echo one >> runs.log
      - exit 4
      - echo three >> runs.log
    outs: [never.txt]
`,
    });
    const r = rvc(d, ['repro']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stage 'many' failed: `exit 4` exited with code 4/);
    expect(ran(d)).toEqual(['one']);
    expect(fs.existsSync(path.join(d, 'rvc.lock'))).toBe(false);
  });
});

describe('rvc repro -j', () => {
  it('runs the two middle stages of a diamond at the same time and ends with a correct rvc.lock', () => {
    const mid = (n: string) => `  ${n}:
    cmd: date +%s%N > ${n}.start && echo hello from ${n} && sleep 1 && cat a.txt > ${n}.txt && date +%s%N > ${n}.end
    deps: [a.txt]
    outs: [${n}.txt]
`;
    const d = repoWith({
      'rvc.yaml': `stages:
  a:
    cmd: echo A > a.txt
    outs: [a.txt]
${mid('b')}${mid('c')}  d:
    cmd: cat b.txt c.txt > d.txt
    deps: [b.txt, c.txt]
    outs: [d.txt]
`,
    });
    const r = rvcOk(d, ['repro', '-j', '2']);
    const t = (f: string) => BigInt(read(d, f).trim());
    // Each middle stage started before the other ended.
    expect(t('b.start') < t('c.end') && t('c.start') < t('b.end')).toBe(true);
    // Parallel output is prefixed with the stage name.
    expect(r.stdout).toContain('[b] hello from b\n');
    expect(r.stdout).toContain('[c] hello from c\n');
    expect(read(d, 'd.txt')).toBe('A\nA\n');
    const lock = read(d, 'rvc.lock');
    expect([...lock.matchAll(/^  ([a-d]):$/gm)].map((m) => m[1])).toEqual(['a', 'b', 'c', 'd']);
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.clean).toBe(true);
    expect(rvcOk(d, ['repro', '-j', '2']).stdout).toMatch(/Data and pipelines are up to date/);
  });
});

describe('graph errors are caught before anything runs', () => {
  const cases: [string, string, RegExp][] = [
    ['a cycle', `stages:
  a:
    cmd: echo a >> runs.log
    deps: [c.txt]
    outs: [a.txt]
  b:
    cmd: echo b >> runs.log
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: echo c >> runs.log
    deps: [b.txt]
    outs: [c.txt]
`, /cycle: a -> b -> c -> a/],
    ['two stages writing one output', `stages:
  a:
    cmd: echo a >> runs.log
    outs: [same.txt]
  b:
    cmd: echo b >> runs.log
    outs: [same.txt]
`, /output 'same.txt' is written by both stage 'a' and stage 'b'/],
    ['an output inside another stage\'s output', `stages:
  a:
    cmd: echo a >> runs.log
    outs: [dir]
  b:
    cmd: echo b >> runs.log
    outs: [dir/file.txt]
`, /output 'dir\/file.txt' of stage 'b' is inside output 'dir' of stage 'a'/],
    ['a dependency nothing produces', `stages:
  a:
    cmd: echo a >> runs.log
    deps: [nowhere.csv]
    outs: [a.txt]
`, /'nowhere.csv' \(stage 'a'\)/],
  ];
  for (const [what, yaml, msg] of cases) {
    it(what, () => {
      const d = repoWith({ 'rvc.yaml': yaml });
      const r = rvc(d, ['repro']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toMatch(/hint: /);
      expect(ran(d)).toEqual([]);
    });
  }
});

/** A zombie (killed, not yet reaped by whatever adopted it) does not count as running. */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return !fs.existsSync('/proc/self');
    } catch {
      return false;
    }
  }
}

describe('Ctrl-C during repro', () => {
  it('stops the running command group and leaves rvc.lock as it was', async () => {
    const d = repoWith({
      'rvc.yaml': `stages:
  slow:
    cmd: sleep 30 & echo $! > sleep.pid; wait
    deps: [in.txt]
    outs: [out.txt]
`,
      'in.txt': 'v1',
    });
    // A first, complete run gives rvc.lock an entry to keep.
    writeTree(d, { 'rvc.yaml': read(d, 'rvc.yaml').replace('sleep 30 & echo $! > sleep.pid; wait', 'cat in.txt > out.txt') });
    rvcOk(d, ['repro']);
    const lock = read(d, 'rvc.lock');
    writeTree(d, { 'rvc.yaml': read(d, 'rvc.yaml').replace('cat in.txt > out.txt', 'sleep 30 & echo $! > sleep.pid; wait'), 'in.txt': 'v2' });

    const child = spawn(process.execPath, [RVC_BIN, 'repro'], { cwd: d, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const pidFile = path.join(d, 'sleep.pid');
    const deadline = Date.now() + 15_000;
    while (!(fs.existsSync(pidFile) && read(d, 'sleep.pid').trim() !== '') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const sleepPid = Number(read(d, 'sleep.pid').trim());
    expect(sleepPid).toBeGreaterThan(0);
    const started = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    // The background `sleep` ignores SIGINT (as in any non-interactive shell); the group still goes.
    expect(Date.now() - started).toBeLessThan(8000);
    expect(stderr).toMatch(/interrupted/);
    expect(isRunning(sleepPid)).toBe(false);
    expect(read(d, 'rvc.lock')).toBe(lock);
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.stages[0].state).toBe('stale');
  });
});

describe('the environment of a stage', () => {
  it('runs in wdir with RVC_ROOT and RVC_STAGE, records env values and reruns when one changes', () => {
    const d = repoWith({
      'rvc.yaml': `stages:
  show:
    wdir: sub
    cmd: echo "$MODE $SEED $RVC_STAGE $RVC_ROOT $(pwd)" > env.txt
    env:
      MODE:
      SEED: "42"
    outs: [env.txt]
`,
    });
    fs.mkdirSync(path.join(d, 'sub'));
    rvcOk(d, ['repro'], { MODE: 'fast' });
    const root = fs.realpathSync(d);
    const [mode, seed, stage, rvcRoot, cwd] = read(d, 'sub/env.txt').trim().split(' ');
    expect([mode, seed, stage]).toEqual(['fast', '42', 'show']);
    expect(fs.realpathSync(rvcRoot!)).toBe(root);
    expect(fs.realpathSync(cwd!)).toBe(path.join(root, 'sub'));
    expect(read(d, 'rvc.lock')).toContain('    env:\n      MODE: fast\n      SEED: "42"\n');
    expect(read(d, 'sub/.gitignore')).toBe('/env.txt\n');

    expect(json(rvcOk(d, ['status', '--json'], { MODE: 'fast' })).pipeline.clean).toBe(true);
    const st = rvcOk(d, ['status'], { MODE: 'slow' });
    expect(st.stdout).toContain('show:\n    changed env: MODE fast → slow');
    rvcOk(d, ['repro'], { MODE: 'slow' });
    expect(read(d, 'sub/env.txt')).toMatch(/^slow 42 show /);
  });
});
