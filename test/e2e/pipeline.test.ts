import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf } from '../helpers/cli.js';

/**
 * Pipelines end to end, on the real binary: which stages rerun after which edit, what rvc.lock
 * records, what status says. Every command appends its stage name to runs.log, so "did not
 * run" is asserted, not inferred.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

/**
 * sh step.sh NAME OUT [IN | param:KEY]… — logs NAME, writes NAME(inputs) to OUT. Shell, not
 * Node, for most stages: a Node start-up costs ~0.1 s and these tests run dozens of commands.
 */
const STEP = `name=$1; out=$2; shift 2
echo "$name" >> "$RVC_ROOT/runs.log"
parts=""
for i in "$@"; do
  case $i in
    param:*) k=\${i#param:}; p="$k=$(sed -n "s/^$k: //p" params.yaml)";;
    *) p=$(cat "$i");;
  esac
  parts="\${parts:+$parts,}$p"
done
mkdir -p "$(dirname "$out")"
printf '%s(%s)\\n' "$name" "$parts" > "$out"
`;

/** The evaluation is a tiny Node script writing JSON metrics. */
const EVAL = `import fs from 'node:fs';
fs.appendFileSync(process.env.RVC_ROOT + '/runs.log', 'evaluate\\n');
const lr = Number(/^lr: (.*)$/m.exec(fs.readFileSync('params.yaml', 'utf8'))[1]);
const model = fs.readFileSync('model.txt', 'utf8');
fs.writeFileSync(process.argv[2], JSON.stringify({ acc: Math.round((1 - lr) * 100) / 100, len: model.length }));
`;

const CHAIN = `stages:
  prepare:
    cmd: sh step.sh prepare data/prepared.txt data/raw.txt
    deps: [step.sh, data/raw.txt]
    outs: [data/prepared.txt]
  featurize:
    cmd: sh step.sh featurize features.txt data/prepared.txt featurize.cfg param:n
    deps: [step.sh, data/prepared.txt, featurize.cfg]
    params: [n]
    outs: [features.txt]
  train:
    cmd: sh step.sh train model.txt features.txt param:lr
    deps: [step.sh, features.txt]
    params: [lr]
    outs: [model.txt]
  evaluate:
    cmd: node eval.mjs metrics.json
    deps: [eval.mjs, model.txt]
    params: [lr]
    metrics:
      - metrics.json:
          cache: false
`;

function chainRepo(): string {
  const d = makeRepo();
  made.push(d);
  writeTree(d, {
    'step.sh': STEP, 'eval.mjs': EVAL, 'rvc.yaml': CHAIN, 'params.yaml': 'n: 3\nlr: 0.1\n',
    'data/raw.txt': 'raw', 'featurize.cfg': 'cfg1',
  });
  return d;
}

/** Stage names logged since the last call (and the log emptied). */
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

describe('rvc repro on a chain prepare → featurize → train → evaluate', () => {
  it('reruns exactly the stages whose inputs changed', () => {
    const d = chainRepo();
    const first = rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['prepare', 'featurize', 'train', 'evaluate']);
    expect(first.stdout).toMatch(/git add rvc.lock/);
    expect(read(d, 'model.txt')).toBe('train(featurize(prepare(raw),cfg1,n=3),lr=0.1)\n');
    // Cached outputs are git-ignored like `rvc add` does; cache: false metrics are not.
    expect(read(d, '.gitignore').split('\n')).toEqual(expect.arrayContaining(['/model.txt', '/features.txt']));
    expect(read(d, 'data/.gitignore')).toBe('/prepared.txt\n');
    expect(read(d, '.gitignore')).not.toContain('metrics.json');
    const lock = read(d, 'rvc.lock');
    expect(lock).toMatch(/^schema: "1\.0"\nstages:\n  evaluate:/);
    expect(lock).toContain('params:\n      params.yaml:\n        lr: 0.1');
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'v1']);

    // Nothing changed: nothing runs, rvc.lock is not rewritten.
    const noop = rvcOk(d, ['repro']);
    expect(ran(d)).toEqual([]);
    expect(noop.stdout).toMatch(/Stage 'train' didn't change, skipping/);
    expect(read(d, 'rvc.lock')).toBe(lock);

    // A param: the stages reading it (and what depends on their outputs).
    writeTree(d, { 'params.yaml': 'n: 3\nlr: 0.2\n' });
    const st = rvcOk(d, ['status']);
    expect(st.stdout).toContain('train:\n    changed params: lr 0.1 → 0.2');
    const stj = json(rvcOk(d, ['status', '--json']));
    expect(stj.pipeline.stages.find((s: any) => s.name === 'train').reasons).toEqual([
      { kind: 'param-changed', file: 'params.yaml', key: 'lr', change: 'modified', old: 0.1, new: 0.2 },
    ]);
    expect(stj.pipeline.clean).toBe(false);
    rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['train', 'evaluate']);
    // Only the stages that ran were rewritten in rvc.lock.
    const diff = git(d, ['diff', '--stat', 'rvc.lock']);
    expect(diff).toMatch(/rvc.lock \| [0-9]+ /);
    const changed = git(d, ['diff', '-U0', 'rvc.lock']).split('\n').filter((l) => /^[-+] /.test(l));
    expect(changed.every((l) => /oid:|size:|lr:/.test(l))).toBe(true);

    // A dependency in the middle: its stage and everything after it, not what is before it.
    writeTree(d, { 'featurize.cfg': 'cfg2' });
    const dry = rvcOk(d, ['repro', '--dry']);
    expect(dry.stdout).toContain("Would run stage 'featurize':\n    changed deps: featurize.cfg");
    expect(dry.stdout).toContain("Would run stage 'train':\n    upstream stage 'featurize' would run");
    expect(ran(d)).toEqual([]);
    rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['featurize', 'train', 'evaluate']);

    // The command text.
    writeTree(d, { 'rvc.yaml': read(d, 'rvc.yaml').replace('node eval.mjs metrics.json', 'node eval.mjs  metrics.json') });
    expect(rvcOk(d, ['status']).stdout).toContain('evaluate:\n    changed command');
    rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['evaluate']);

    // A deleted cached output comes back from the cache without running the command…
    fs.rmSync(path.join(d, 'model.txt'));
    expect(rvcOk(d, ['status']).stdout).toContain('train:\n    missing outs: model.txt');
    const restored = rvcOk(d, ['repro']);
    expect(restored.stdout).toContain("Stage 'train' is cached — restored outputs");
    expect(ran(d)).toEqual([]);
    expect(read(d, 'model.txt')).toBe('train(featurize(prepare(raw),cfg2,n=3),lr=0.2)\n');
    // …while a deleted uncached output means running the command again.
    fs.rmSync(path.join(d, 'metrics.json'));
    rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['evaluate']);

    // A modified output makes its stage stale; the run overwrites the edit.
    writeTree(d, { 'features.txt': 'hand-edited' });
    expect(rvcOk(d, ['status']).stdout).toContain('featurize:\n    modified outs: features.txt');

    // -f runs a stage even when it is up to date; -s leaves out what it depends on (and after).
    rvcOk(d, ['repro', '-f', '-s', 'prepare']);
    expect(ran(d)).toEqual(['prepare']);
  });

  it('restores from the run-cache when inputs return to values seen before', () => {
    const d = chainRepo();
    rvcOk(d, ['repro']);
    ran(d);
    writeTree(d, { 'params.yaml': 'n: 3\nlr: 0.5\n' });
    rvcOk(d, ['repro']);
    expect(ran(d)).toEqual(['train', 'evaluate']);
    writeTree(d, { 'params.yaml': 'n: 3\nlr: 0.1\n' });
    const r = rvcOk(d, ['repro']);
    // train's outputs come from the run-cache; evaluate has an uncached output, so it runs.
    expect(r.stdout).toContain("Stage 'train' is cached — restored outputs");
    expect(ran(d)).toEqual(['evaluate']);
    expect(read(d, 'model.txt')).toBe('train(featurize(prepare(raw),cfg1,n=3),lr=0.1)\n');
    expect(read(d, 'rvc.lock')).toContain('lr: 0.1');
    // --no-run-cache runs the command instead.
    writeTree(d, { 'params.yaml': 'n: 3\nlr: 0.5\n' });
    rvcOk(d, ['repro', '--no-run-cache', 'train']);
    expect(ran(d)).toEqual(['train']);
  });

  it('skips frozen stages and limits the run with targets, -s and --downstream', () => {
    const d = chainRepo();
    rvcOk(d, ['repro']);
    ran(d);
    writeTree(d, { 'data/raw.txt': 'raw2', 'featurize.cfg': 'cfg2' });
    // --downstream from featurize: featurize and after, prepare is left stale.
    rvcOk(d, ['repro', '--downstream', 'featurize']);
    expect(ran(d)).toEqual(['featurize', 'train', 'evaluate']);
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.stages.filter((s: any) => s.state === 'stale').map((s: any) => s.name)).toEqual(['prepare']);
    // A target by output path runs it and what it needs.
    rvcOk(d, ['repro', 'data/prepared.txt']);
    expect(ran(d)).toEqual(['prepare']);

    // frozen: never rerun, even though its dep changed; downstream still judged on its own.
    writeTree(d, { 'rvc.yaml': CHAIN.replace("  prepare:\n", "  prepare:\n    frozen: true\n") });
    writeTree(d, { 'data/raw.txt': 'raw3' });
    const r = rvcOk(d, ['repro']);
    expect(r.stdout).toContain("Stage 'prepare' is frozen, skipping");
    expect(ran(d)).toEqual(['featurize', 'train', 'evaluate']);
    expect(rvcOk(d, ['repro']).stdout).toMatch(/Data and pipelines are up to date/);
    expect(ran(d)).toEqual([]);
  });
});

describe('rvc stage add / list', () => {
  it('writes rvc.yaml, refuses duplicates and overlapping outputs with a hint, lists stages', () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, { 'data.csv': 'a,b\n', 'params.yaml': 'lr: 0.1\nepochs: 2\n' });
    const add = rvcOk(d, ['stage', 'add', '-n', 'train', '-d', 'data.csv', '-p', 'lr,epochs', '-o', 'model', '-M', 'm.json', '-e', 'SEED=7',
      'python', 'train.py', '--lr', '0.1']);
    expect(add.stdout).toContain("Added stage 'train' in rvc.yaml");
    expect(read(d, 'rvc.yaml')).toBe(`stages:
  train:
    cmd: python train.py --lr 0.1
    deps:
      - data.csv
    params:
      - lr
      - epochs
    env:
      SEED: "7"
    outs:
      - model
    metrics:
      - m.json:
          cache: false
`);
    const dup = rvc(d, ['stage', 'add', '-n', 'train', '-o', 'x', 'true']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/stage 'train' already exists/);
    expect(dup.stderr).toMatch(/hint: .*--force/);
    const overlap = rvc(d, ['stage', 'add', '-n', 'other', '-o', 'model/weights.bin', 'true']);
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toMatch(/output 'model\/weights.bin' of stage 'other' overlaps output 'model' of stage 'train'/);
    expect(overlap.stderr).toMatch(/hint: .*dependency/);
    const cycle = rvc(d, ['stage', 'add', '-n', 'prep', '-d', 'model', '-o', 'data.csv', 'true']);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toMatch(/cycle: (prep -> train -> prep|train -> prep -> train)/);
    rvcOk(d, ['stage', 'add', '-n', 'eval', '-d', 'model', '-O', 'report.txt', 'cat model > report.txt']);
    const list = json(rvcOk(d, ['stage', 'list', '--json']));
    expect(list.stages.map((s: any) => s.name)).toEqual(['train', 'eval']);
    expect(rvcOk(d, ['dag']).stdout).toBe('train\n`-- eval\n');
    expect(rvcOk(d, ['dag', '--dot']).stdout).toContain('"train" -> "eval";');
  });
});
