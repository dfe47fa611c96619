import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, rvcAsync, makeRepo, writeTree, rmrf, git, tmpDir } from '../helpers/cli.js';

/**
 * The experiment queue: `exp run --queue/--run-all/--temp` and `rvc queue …`, with real worker
 * processes, real isolated copies (git worktrees) and a real shared cache.
 */

const made: string[] = [];
afterEach(() => {
  // Workers of a failed test may still run: stop them before their folder goes.
  for (const d of made) if (fs.existsSync(path.join(d, '.rvc'))) rvc(d, ['queue', 'stop', '--kill']);
  while (made.length) rmrf(made.pop()!);
});

interface Entry { id: string; name: string | null; state: string; params: string[]; error?: string; pid?: number; experiment?: { name: string; commit: string } }

function entries(d: string): Entry[] {
  const dir = path.join(d, '.rvc/tmp/exps/queue');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()
    .map((n) => { try { return JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as Entry; } catch { return undefined; } })
    .filter((e): e is Entry => e !== undefined);
}

/** Polls until `cond` holds (a generous cap so a broken queue fails instead of hanging). */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const allEnded = (d: string, n: number) => (): boolean => {
  const es = entries(d);
  return es.length === n && es.every((e) => e.state === 'success' || e.state === 'failed');
};

/** A worker removes its file under `workers/` as it ends. */
const workersGone = (d: string) => (): boolean => {
  const dir = path.join(d, '.rvc/tmp/exps/queue/workers');
  return !fs.existsSync(dir) || fs.readdirSync(dir).length === 0;
};

function expRefs(d: string): string[] {
  return git(d, ['for-each-ref', '--format=%(refname)', 'refs/exps/']).split('\n').filter(Boolean);
}

/**
 * A project whose stage records when it ran (`date +%s%N`) in git-tracked outputs, appends
 * `a,b` to `<side>/ran` (outside the repository, so every run's record lands in one place), and
 * runs `<side>/gate.sh` first, which the tests use to hold or synchronise runs.
 */
function project(gate = 'true', sub = ''): { d: string; side: string } {
  const top = sub ? makeRepo({ rvcInit: false }) : makeRepo();
  const d = path.join(top, sub);
  if (sub) {
    fs.mkdirSync(d);
    rvcOk(d, ['init']);
  }
  const side = tmpDir('rvc-queue-side-');
  made.push(top, side);
  fs.writeFileSync(path.join(side, 'gate.sh'), `#!/bin/sh\n${gate}\n`, { mode: 0o755 });
  writeTree(d, {
    'params.yaml': 'a: 1\nb: 1\n',
    'data/in.txt': 'input data\n',
    'rvc.yaml': `stages:
  train:
    cmd: >-
      date +%s%N > start.txt &&
      echo "stage says a=$(grep a: params.yaml)" &&
      ${side}/gate.sh &&
      cat data/in.txt params.yaml > model.txt &&
      touch "scratch-$(sed -n 's/^a: //p' params.yaml)" &&
      (grep -q 'a: 9' params.yaml && { echo "bad a" >&2; exit 4; } || true) &&
      echo "$(sed -n 's/^a: //p' params.yaml),$(sed -n 's/^b: //p' params.yaml)" >> ${side}/ran &&
      date +%s%N > end.txt
    deps: [data/in.txt]
    params: [a, b]
    outs:
      - model.txt
      - start.txt:
          cache: false
      - end.txt:
          cache: false
`,
  });
  rvcOk(d, ['add', 'data/in.txt']);
  git(d, ['add', '-A']);
  git(d, ['commit', '-qm', 'project']);
  return { d, side };
}

/** Whether `pid` runs (a zombie, killed but not reaped, does not). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function ran(side: string): string[] {
  const f = path.join(side, 'ran');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).sort() : [];
}

describe('exp run --queue and --run-all', () => {
  it('queues one entry per sweep combination and runs them two at a time in isolated copies, each saved once', () => {
    // The gate is a barrier: a run waits (up to 20 s) until two runs have started, so with -j 2
    // the first two overlap whatever the machine's load; run one at a time they would not.
    const { d, side } = project(`touch "$(dirname "$0")/started.$$"; i=0; while [ "$(ls "$(dirname "$0")" | grep -c '^started')" -lt 2 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done`);
    // An uncommitted change to the params is part of what the runs start from.
    writeTree(d, { 'params.yaml': 'a: 1\nb: 1\nc: 7\n' });
    const q = rvcOk(d, ['exp', 'run', '--queue', '-S', 'a=2,3', '-S', 'b=5,6', '--json']);
    expect((JSON.parse(q.stdout) as Entry[]).map((e) => e.params)).toEqual([['a=2', 'b=5'], ['a=2', 'b=6'], ['a=3', 'b=5'], ['a=3', 'b=6']]);
    expect(ran(side)).toEqual([]);
    const head = git(d, ['rev-parse', 'HEAD']).trim();

    rvcOk(d, ['exp', 'run', '--run-all', '-j', '2']);
    expect(ran(side)).toEqual(['2,5', '2,6', '3,5', '3,6']);
    const es = entries(d);
    expect(es.map((e) => e.state)).toEqual(['success', 'success', 'success', 'success']);
    const refs = expRefs(d);
    expect(refs).toHaveLength(4);
    const spans: Array<[bigint, bigint]> = [];
    for (const e of es) {
      const c = e.experiment!.commit;
      // The experiment's parent is the baseline, not the snapshot it ran from; its tree holds
      // the uncommitted change and the run's own overrides.
      expect(git(d, ['rev-parse', `${c}^`]).trim()).toBe(head);
      const params = git(d, ['show', `${c}:params.yaml`]);
      expect(params).toContain('c: 7');
      expect(params).toContain(`a: ${e.params[0]!.slice(2)}`);
      // A reused copy carries nothing of the run before: only this run's own scratch file.
      expect(git(d, ['ls-tree', '--name-only', c]).split('\n').filter((n) => n.startsWith('scratch-'))).toEqual([`scratch-${e.params[0]!.slice(2)}`]);
      spans.push([BigInt(git(d, ['show', `${c}:start.txt`]).trim()), BigInt(git(d, ['show', `${c}:end.txt`]).trim())]);
    }
    const overlapped = spans.some(([s1, e1], i) => spans.some(([s2, e2], j) => i !== j && s1 < e2 && s2 < e1));
    expect(overlapped).toBe(true);
    // A copy is reused by the next run of its worker, and removed when the queue is done.
    expect(es.filter((e) => fs.readFileSync(path.join(d, `.rvc/tmp/exps/queue/${e.id}.log`), 'utf8').includes('rvc queue: copy reused'))).toHaveLength(2);
    expect(fs.readdirSync(path.join(d, '.rvc/tmp/exps')).filter((n) => n !== 'queue' && n !== 'pool')).toEqual([]);
    expect(fs.readdirSync(path.join(d, '.rvc/tmp/exps/pool'))).toEqual([]);
    expect(git(d, ['worktree', 'list']).trim().split('\n')).toHaveLength(1);
    expect(fs.readFileSync(path.join(d, 'params.yaml'), 'utf8')).toBe('a: 1\nb: 1\nc: 7\n');
    expect(fs.existsSync(path.join(d, 'model.txt'))).toBe(false);
  });

  it('a copy reused from an earlier run places only the data that differs, and each run sees its own snapshot\'s data', () => {
    const { d } = project();
    rvcOk(d, ['exp', 'run', '--queue', '-S', 'a=2', '-n', 'first']);
    // The second run starts from other data (added, not committed: the snapshot records it).
    writeTree(d, { 'data/in.txt': 'other data\n' });
    rvcOk(d, ['add', 'data/in.txt']);
    rvcOk(d, ['exp', 'run', '--queue', '-S', 'a=3', '-n', 'second']);
    rvcOk(d, ['exp', 'run', '--run-all', '-j', '1']);
    const model = (name: string): string => {
      const ref = expRefs(d).find((x) => x.endsWith(`/${name}`))!;
      const lock = git(d, ['show', `${ref}:rvc.lock`]);
      const oid = /path: model\.txt\n\s+hash: \w+\n\s+oid: (\w+)/.exec(lock)![1]!;
      return fs.readFileSync(path.join(d, '.rvc/cache/blake3', oid.slice(0, 2), oid.slice(2)), 'utf8');
    };
    expect(model('first')).toBe('input data\na: 2\nb: 1\n');
    expect(model('second')).toBe('other data\na: 3\nb: 1\n');
    // The second run reused the first's copy (one was made, then parked and taken again).
    const logs = fs.readdirSync(path.join(d, '.rvc/tmp/exps/queue')).filter((n) => n.endsWith('.log')).map((n) => fs.readFileSync(path.join(d, '.rvc/tmp/exps/queue', n), 'utf8')).join('');
    expect(logs).toContain('copy made');
    expect(logs).toContain('copy reused');
  });

  it('--temp runs now in an isolated copy and leaves the workspace as it was (a project in a folder of its git repository)', () => {
    const { d, side } = project('true', 'proj');
    const r = rvcOk(d, ['exp', 'run', '--temp', '-S', 'a=4', '-n', 'tmp-run']);
    expect(r.stdout + r.stderr).toContain("saved as 'tmp-run'");
    expect(ran(side)).toEqual(['4,1']);
    expect(expRefs(d).map((x) => x.split('/').pop())).toEqual(['tmp-run']);
    expect(fs.readFileSync(path.join(d, 'params.yaml'), 'utf8')).toBe('a: 1\nb: 1\n');
    expect(fs.existsSync(path.join(d, 'model.txt'))).toBe(false);
    const c = git(d, ['rev-parse', expRefs(d)[0]!]).trim();
    expect(git(d, ['show', `${c}:proj/params.yaml`])).toContain('a: 4');
  });
});

describe('rvc queue', () => {
  it('start runs the queue in a background worker; status and logs show it; a failing run keeps its log and copy until queue remove --failed', async () => {
    const { d } = project();
    rvcOk(d, ['exp', 'run', '--queue', '-S', 'a=2', '-n', 'good']);
    rvcOk(d, ['exp', 'run', '--queue', '-S', 'a=9', '-n', 'bad']);
    const s = rvcOk(d, ['queue', 'start']);
    expect(s.stdout).toMatch(/Started a queue worker \(pid \d+, 1 at a time\) for 2 queued experiments/);
    await until('both runs end', allEnded(d, 2));
    await until('the worker ends', workersGone(d));

    const st = JSON.parse(rvcOk(d, ['queue', 'status', '--json']).stdout) as { entries: Entry[] };
    expect(st.entries.map((e) => [e.name, e.state])).toEqual([['good', 'success'], ['bad', 'failed']]);
    expect(st.entries[1]!.error).toBe("stage 'train' failed (exit code 4)");
    const human = rvcOk(d, ['queue', 'status']).stdout;
    expect(human).toMatch(/good\tsuccess/);
    expect(human).toMatch(/bad\tfailed/);

    expect(rvcOk(d, ['queue', 'logs', 'good']).stdout).toContain('stage says a=a: 2');
    const badLog = rvcOk(d, ['queue', 'logs', 'bad', '-f']).stdout;
    expect(badLog).toContain('bad a');
    expect(badLog).toContain("rvc queue: failed: stage 'train' failed (exit code 4)");
    const bad = st.entries[1]!;
    // The failed run's copy is kept for inspection, with the override applied.
    const copy = path.join(d, '.rvc/tmp/exps', bad.id);
    expect(fs.readFileSync(path.join(copy, 'params.yaml'), 'utf8')).toContain('a: 9');
    expect(expRefs(d).map((x) => x.split('/').pop())).toEqual(['good']);

    const rm = rvcOk(d, ['queue', 'remove', '--failed', '--json']);
    expect((JSON.parse(rm.stdout) as Entry[]).map((e) => e.id)).toEqual([bad.id]);
    expect(fs.existsSync(copy)).toBe(false);
    expect(fs.existsSync(path.join(d, `.rvc/tmp/exps/queue/${bad.id}.log`))).toBe(false);
    expect(git(d, ['for-each-ref', `refs/rvc-queue/${bad.id}`]).trim()).toBe('');
    expect(git(d, ['worktree', 'list']).trim().split('\n')).toHaveLength(1);
    expect(entries(d).map((e) => e.name)).toEqual(['good']);
    expect(rvc(d, ['queue', 'remove']).code).toBe(2);
  });

  it('a killed worker loses nothing: its run in flight finishes, a run killed with it is queued again, and queue start runs the rest once each', async () => {
    // Runs wait at the gate until the test opens it.
    const { d, side } = project(`touch "$(dirname "$0")/at-gate.$$"; while [ ! -e "$(dirname "$0")/open" ]; do sleep 0.05; done`);
    rvcOk(d, ['exp', 'run', '--queue', '-S', 'a=1,2,3']);
    rvcOk(d, ['queue', 'start', '-j', '2']);
    const atGate = () => fs.readdirSync(side).filter((n) => n.startsWith('at-gate.')).length;
    await until('two runs at the gate', () => atGate() === 2);
    const running = entries(d).filter((e) => e.state === 'running');
    expect(running).toHaveLength(2);
    const status = JSON.parse(rvcOk(d, ['queue', 'status', '--json']).stdout) as { workers: Array<{ pid: number }> };
    expect(status.workers).toHaveLength(1);
    // The worker dies; so does one of its runs (process group: node and the stage's shell), as
    // in a crash. The other run, a process of its own, goes on.
    process.kill(status.workers[0]!.pid, 'SIGKILL');
    const victim = running[0]!;
    process.kill(-victim.pid!, 'SIGKILL');
    const locks = path.join(d, '.rvc/tmp/exps', victim.id, '.rvc/tmp/locks');
    for (const f of fs.readdirSync(locks)) {
      for (const g of (JSON.parse(fs.readFileSync(path.join(locks, f), 'utf8')) as { groups?: number[] }).groups ?? []) process.kill(-g, 'SIGKILL');
    }
    fs.writeFileSync(path.join(side, 'open'), '');
    await until('the surviving run ends', () => entries(d).filter((e) => e.state === 'success').length === 1);
    expect(entries(d).find((e) => e.id === victim.id)!.state).toBe('running');

    rvcOk(d, ['queue', 'start', '-j', '2']);
    await until('every entry ends', allEnded(d, 3));
    expect(entries(d).map((e) => e.state)).toEqual(['success', 'success', 'success']);
    // Each combination completed once: the killed run did not reach its end before, and ran again.
    expect(ran(side)).toEqual(['1,1', '2,1', '3,1']);
    expect(expRefs(d)).toHaveLength(3);
  });

  it('two queue start at once share the work and never run one entry twice', async () => {
    const { d, side } = project();
    rvcOk(d, ['exp', 'run', '--queue', '-S', 'a=1,2,3,4']);
    const [r1, r2] = await Promise.all([rvcAsync(d, ['queue', 'start']), rvcAsync(d, ['queue', 'start'])]);
    expect([r1.code, r2.code]).toEqual([0, 0]);
    await until('every entry ends', allEnded(d, 4));
    await until('the workers end', workersGone(d));
    expect(entries(d).map((e) => e.state)).toEqual(Array(4).fill('success'));
    expect(ran(side)).toEqual(['1,1', '2,1', '3,1', '4,1']);
    expect(expRefs(d)).toHaveLength(4);
  });

  it('runs share long-lived runner processes; queue kill of one run among several stops only it, the next entry gets a new runner, and each log holds only its own run', async () => {
    // Runs with a=1 and a=2 wait at the gate until the test opens theirs.
    const { d, side } = project(`a=$(sed -n 's/^a: //p' params.yaml); touch "$(dirname "$0")/at-gate.$a.$$"; case $a in 1|2) while [ ! -e "$(dirname "$0")/open-$a" ]; do sleep 0.05; done;; esac`);
    rvcOk(d, ['exp', 'run', '--queue', '-S', 'a=1,2,3,4']);
    rvcOk(d, ['queue', 'start', '-j', '2']);
    const gate = (a: number): number | undefined => {
      const n = fs.readdirSync(side).find((x) => x.startsWith(`at-gate.${a}.`));
      return n === undefined ? undefined : Number(n.split('.')[2]);
    };
    await until('runs 1 and 2 at the gate', () => gate(1) !== undefined && gate(2) !== undefined);
    const byA = (a: number): Entry => entries(d).find((e) => e.params[0] === `a=${a}`)!;
    rvcOk(d, ['queue', 'kill', byA(1).id]);
    await until('the killed run\'s stage command is gone', () => !alive(gate(1)!));
    // The other run held at the gate is untouched; 3 and 4 run meanwhile in a new runner.
    await until('runs 3 and 4 end', () => byA(3).state === 'success' && byA(4).state === 'success');
    expect(alive(gate(2)!)).toBe(true);
    expect(byA(2).state).toBe('running');
    fs.writeFileSync(path.join(side, 'open-2'), '');
    await until('every entry ends', allEnded(d, 4));
    await until('the worker ends', workersGone(d));
    expect([1, 2, 3, 4].map((a) => byA(a).state)).toEqual(['failed', 'success', 'success', 'success']);
    expect(byA(1).error).toContain('queue kill');
    expect(ran(side)).toEqual(['2,1', '3,1', '4,1']);
    expect(expRefs(d)).toHaveLength(3);
    const logs = new Map([1, 2, 3, 4].map((a) => [a, rvcOk(d, ['queue', 'logs', byA(a).id]).stdout]));
    const log = (a: number): string => logs.get(a)!;
    const proc = (a: number): number => Number(/rvc queue: running \w+ .*\(process (\d+)\)/.exec(log(a))![1]);
    for (const a of [1, 2, 3, 4]) {
      expect(log(a)).toContain(`stage says a=a: ${a}`);
      expect(log(a).match(/stage says a=a: \d/g)).toEqual([`stage says a=a: ${a}`]);
      expect(log(a).match(/rvc queue: running/g)).toHaveLength(1);
    }
    // One start-up for several runs: 3 and 4 ran one after the other in the runner that replaced the killed one.
    expect(proc(3)).toBe(proc(4));
    expect(new Set([proc(1), proc(2), proc(3)]).size).toBe(3);
  });

  it('queue kill stops a running experiment with its commands and marks it failed', async () => {
    const { d, side } = project(`touch "$(dirname "$0")/at-gate.$$"; while [ ! -e "$(dirname "$0")/open" ]; do sleep 0.05; done`);
    rvcOk(d, ['exp', 'run', '--queue', '-n', 'slow']);
    rvcOk(d, ['queue', 'start']);
    await until('the run at the gate', () => fs.readdirSync(side).some((n) => n.startsWith('at-gate.')));
    const pid = Number(fs.readdirSync(side).find((n) => n.startsWith('at-gate.'))!.slice('at-gate.'.length));
    // While a run stores objects in the shared cache, gc would not see them as used: it waits.
    const gc = rvc(d, ['gc', '-w']);
    expect(gc.code).toBe(3);
    expect(gc.stderr).toContain('queued experiment');
    expect(rvc(d, ['gc', '-w', '--dry']).code).toBe(0);
    rvcOk(d, ['queue', 'kill', 'slow']);
    await until('the stage command is gone', () => !alive(pid));
    await until('the worker ends', workersGone(d));
    const e = entries(d)[0]!;
    expect(e.state).toBe('failed');
    expect(e.error).toContain('queue kill');
    expect(expRefs(d)).toEqual([]);
    // Once nothing runs, gc runs; the queued snapshot's commit stays among what it keeps.
    const after = JSON.parse(rvcOk(d, ['gc', '-w', '--json']).stdout) as { revisions?: string[] };
    expect(after.revisions?.some((r) => r.startsWith('queued:'))).toBe(true);
  });
});
