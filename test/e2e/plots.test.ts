import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { rvc, rvcOk, makeRepo, writeTree, git, rmrf } from '../helpers/cli.js';
import { startBrowser, inspectPage, type Browser, type PageReport } from '../helpers/browser.js';

/**
 * `rvc plots`: the real binary writes pages in a real repository, and Debian's Chromium (headless,
 * fresh profile, every non-file request refused) opens them from disk and reports what each plot
 * drew. One browser for the whole file.
 */

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

const PIPELINE = `# plots of the project
plots:
  - acc:
      x: step
      y:
        logs/train.csv: acc
        logs/val.csv: acc
      title: Accuracy
  - conf.csv:
      template: confusion
      x: actual
      y: predicted
  - sizes.yaml:
      template: bar_horizontal_sorted
      x: n
      y: kind
  - points.tsv:
      template: scatter
      x: a
      y: b
  - curve.png
  - dvclive/plots/metrics:
      x: step
stages:
  train:
    cmd: sh train.sh
    deps: [train.sh]
    plots:
      - loss.json:
          x: step
          y: loss
`;

const browser = await startBrowser();
const skip = 'skip' in browser ? browser.skip : undefined;
if (skip) console.warn(`[plots browser tests skipped] ${skip}`);
const b = browser as Browser;

const made: string[] = [];
let repo = '';
afterAll(async () => {
  if (!skip) await b.close();
  while (made.length) rmrf(made.pop()!);
});

const byId = (r: PageReport) => Object.fromEntries(r.plots.map((p) => [p.id, p]));

beforeAll(() => {
  repo = makeRepo();
  made.push(repo);
  // First commit: no plots at all. Second: the plots and their data, loss.json a cached stage output.
  writeTree(repo, { 'README.md': 'x\n' });
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', 'start']);
  git(repo, ['tag', 'noplots']);
  writeTree(repo, {
    'rvc.yaml': PIPELINE,
    'logs/train.csv': 'step,acc\n0,0.1\n1,0.5\n2,0.7\n',
    'logs/val.csv': 'step,acc\n0,0.05\n1,0.4\n2,0.6\n',
    // Enough repeated labels for the page to carry them as a dictionary.
    'conf.csv': 'actual,predicted\ncat,cat\ncat,dog\ndog,dog\ndog,dog\ncat,cat\ncat,dog\ndog,dog\ncat,cat\ndog,dog\n',
    'sizes.yaml': 'rows:\n  - {kind: small, n: 3}\n  - {kind: large, n: 9}\n  - {kind: medium, n: 5}\n',
    'points.tsv': 'a\tb\n1\t2\n2\t3\n3\t5\n4\t4\n',
    'curve.png': PNG,
    'dvclive/plots/metrics/loss.tsv': 'step\tloss\n0\t1.0\n1\t0.6\n',
    'dvclive/plots/metrics/eval/acc.tsv': 'step\tacc\n0\t0.5\n1\t0.8\n',
    'train.sh': `printf '{"history": [{"step": 0, "loss": 2}, {"step": 1, "loss": 1.5}, {"step": 2, "loss": 0.7}]}' > loss.json\n`,
  });
  rvcOk(repo, ['repro']);
  rvcOk(repo, ['remote', 'add', '-d', 'store', path.join(repo, '..', `${path.basename(repo)}-remote`)]);
  made.push(path.join(repo, '..', `${path.basename(repo)}-remote`));
  rvcOk(repo, ['push', '-q']);
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', 'plots']);
  // The workspace moves on: new accuracy values, a new data file only the workspace has.
  writeTree(repo, { 'logs/train.csv': 'step,acc\n0,0.2\n1,0.6\n2,0.8\n3,0.9\n' });
});

describe('rvc plots', () => {
  it.skipIf(!!skip)('show: one offline page where every kind of plot renders, with no network request and no console error', async () => {
    // --open runs the system's opener (here a stand-in that records what it was given).
    const bin = path.join(repo, '..', `${path.basename(repo)}-bin`);
    made.push(bin);
    writeTree(bin, { 'xdg-open': `#!/bin/sh\nprintf '%s' "$1" > '${bin}/opened'\n` });
    fs.chmodSync(path.join(bin, 'xdg-open'), 0o755);
    const r = rvcOk(repo, ['plots', 'show', '--open'], { PATH: `${bin}:${process.env.PATH}` });
    const page = path.join(repo, 'rvc_plots', 'index.html');
    expect(r.stdout.trim()).toBe(`file://${page}`);
    for (let i = 0; i < 200 && !fs.existsSync(path.join(bin, 'opened')); i++) await new Promise((ok) => setTimeout(ok, 25));
    expect(fs.readFileSync(path.join(bin, 'opened'), 'utf8')).toBe(page);
    expect(fs.readFileSync(path.join(repo, 'rvc_plots', 'static', 'workspace_curve.png'))).toEqual(PNG);
    const shot = path.join(repo, 'shot.png');
    const rep = await inspectPage(b, page, shot);
    if (process.env.RVC_PLOTS_SCREENSHOT) fs.copyFileSync(shot, process.env.RVC_PLOTS_SCREENSHOT);
    expect(rep.network).toEqual([]);
    expect(rep.consoleErrors).toEqual([]);
    const p = byId(rep);
    // A folder id (as DVCLive writes it) stands for each data file below it.
    expect(Object.keys(p).sort()).toEqual(['acc', 'conf.csv', 'curve.png', 'dvclive/plots/metrics/eval/acc.tsv', 'dvclive/plots/metrics/loss.tsv', 'loss.json', 'points.tsv', 'sizes.yaml']);
    expect(p['dvclive/plots/metrics/eval/acc.tsv']!.marks).toBe(1);
    for (const x of rep.plots) expect(x.state, `${x.id}: ${x.text}`).toBe('ok');
    expect(p['acc']!.marks).toBe(2); // one line per data file
    expect(p['loss.json']!.marks).toBe(1);
    expect(p['points.tsv']!.marks).toBe(4); // one point per row
    expect(p['sizes.yaml']!.marks).toBe(3); // one bar per row
    expect(p['conf.csv']!.marks).toBe(6); // 3 cells (cat/cat, cat/dog, dog/dog), each a rect and a count
    expect(p['curve.png']!.marks).toBe(1);
    expect(fs.statSync(shot).size).toBeGreaterThan(1000);
  });

  it.skipIf(!!skip)('bad input: each broken plot says why on the page, the others still render, and the page is written whole', async () => {
    const d = makeRepo();
    made.push(d);
    fs.mkdirSync(path.join(d, '.rvc', 'plots'), { recursive: true });
    writeTree(d, {
      'rvc.yaml': `plots:
  - good.csv:
      x: step
      y: loss
  - nocol.csv:
      y: accuracy
  - text.csv:
      y: loss
  - big.csv
  - absent.csv
  - custom.csv:
      template: broken
  - link.csv
  - link.png
`,
      'good.csv': 'step,loss\n0,1\n1,0.5\n',
      'nocol.csv': 'step,loss\n0,1\n',
      'text.csv': 'step,loss\n0,1\n1,oops\n',
      'custom.csv': 'step,loss\n0,1\n',
      '.rvc/plots/broken.json': '{"data": {"values": "<RVC_DATA>"}, "mark": ',
    });
    // Links out of the repository: their targets must not reach the page.
    const secretDir = path.join(d, '..', `${path.basename(d)}-outside`);
    made.push(secretDir);
    writeTree(secretDir, { 'secret.csv': 'step,loss\n0,424242\n', 'secret.png': PNG });
    fs.symlinkSync(path.join(secretDir, 'secret.csv'), path.join(d, 'link.csv'));
    fs.symlinkSync(path.join(secretDir, 'secret.png'), path.join(d, 'link.png'));
    // 50 MB of CSV
    const line = '123456,0.123456789\n';
    const fd = fs.openSync(path.join(d, 'big.csv'), 'w');
    fs.writeSync(fd, 'step,loss\n');
    const chunk = line.repeat(Math.ceil((1 << 20) / line.length));
    for (let i = 0; i < 50; i++) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    // No opener on PATH: said, not failed (git alone is on PATH).
    const gitDir = path.join(d, '..', `${path.basename(d)}-bin`);
    made.push(gitDir);
    fs.mkdirSync(gitDir);
    fs.symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), path.join(gitDir, 'git'));
    const r = rvc(d, ['plots', 'show', '--open'], { PATH: gitDir });
    expect(r.stderr).toContain('no browser could be opened (xdg-open is not available)');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'accuracy'");
    expect(r.stderr).toContain('not a number');
    expect(r.stderr).toContain('MB');
    expect(r.stderr).toContain("'absent.csv' does not exist");
    expect(r.stderr).toContain("template '.rvc/plots/broken.json' is not valid JSON");
    const page = path.join(d, 'rvc_plots', 'index.html');
    expect(fs.statSync(page).size).toBeLessThan(5 << 20);
    expect(fs.readdirSync(path.join(d, 'rvc_plots'))).toEqual(['index.html']); // no temp file, no linked image copied
    expect(r.stderr).toContain("plot file 'link.csv' is a symbolic link to");
    expect(fs.readFileSync(page, 'utf8')).not.toContain('424242');
    const rep = await inspectPage(b, page);
    expect(rep.network).toEqual([]);
    expect(rep.consoleErrors).toEqual([]);
    const p = byId(rep);
    expect(p['good.csv']).toMatchObject({ state: 'ok', marks: 1 });
    for (const id of ['nocol.csv', 'text.csv', 'big.csv', 'absent.csv', 'custom.csv', 'link.csv', 'link.png']) expect(p[id]!.state, id).toBe('error');
    expect(p['nocol.csv']!.text).toContain("'accuracy'");
  });

  it.skipIf(!!skip)('diff: plots of revisions and the workspace overlaid, stage outputs from the cache or the remote, images from git, a revision without plots said', async () => {
    // HEAD's loss.json is a cached stage output; its object leaves the cache and must come back from the remote.
    const loss = fs.readFileSync(path.join(repo, 'loss.json'));
    const objects = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? objects(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const obj = objects(path.join(repo, '.rvc', 'cache')).find((f) => fs.readFileSync(f).equals(loss))!;
    fs.chmodSync(obj, 0o644);
    fs.rmSync(obj);
    const r = rvc(repo, ['plots', 'diff', 'noplots', 'HEAD', '-o', 'diffpage']);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(obj)).toEqual(loss);
    expect(r.stderr).toContain('revision noplots defines no plots');
    // Beside what concerns the revision without plots, nothing is reported: HEAD's data all read.
    expect(r.stderr.trim().split('\n').filter((l) => !l.includes('noplots'))).toEqual([]);
    expect(fs.readFileSync(path.join(repo, 'diffpage', 'static', 'HEAD_curve.png'))).toEqual(PNG);
    const rep = await inspectPage(b, path.join(repo, 'diffpage', 'index.html'));
    expect(rep.network).toEqual([]);
    expect(rep.consoleErrors).toEqual([]);
    const p = byId(rep);
    for (const x of rep.plots) expect(x.state, `${x.id}: ${x.text}`).toBe('ok');
    expect(p['curve.png']!.marks).toBe(2); // HEAD's and the workspace's
    expect(p['dvclive/plots/metrics/loss.tsv']!.marks).toBe(2);
    expect(p['acc']!.marks).toBe(4); // 2 files × (HEAD, workspace)
    expect(p['loss.json']!.marks).toBe(2); // HEAD's from the cache through rvc.lock, and the workspace's
    const j = JSON.parse(rvcOk(repo, ['plots', 'diff', 'HEAD', '--json', '--targets', 'logs/train.csv']).stdout) as { plots: { id: string; spec: { data: { values: { rev: string; y: number }[] } } }[] };
    expect(j.plots.map((x) => x.id)).toEqual(['acc']);
    const revs = j.plots[0]!.spec.data.values.filter((v) => v.y === 0.9 || v.y === 0.7).map((v) => v.rev);
    expect(revs.sort()).toEqual(['HEAD', 'workspace']);
  });
});

describe('rvc plots diff over many revisions', () => {
  it('reads every revision (pipeline, lock and plot files, cached outputs through the lock) in one git process: as many git processes for three revisions as for one', () => {
    const d = makeRepo();
    made.push(d);
    // git through a stand-in that counts its runs.
    const bin = path.join(d, '..', `${path.basename(d)}-gitlog`);
    made.push(bin);
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeTree(bin, { git: `#!/bin/sh\necho "$1" >> '${bin}/log'\nexec '${realGit}' "$@"\n` });
    fs.chmodSync(path.join(bin, 'git'), 0o755);
    writeTree(d, {
      'rvc.yaml': 'plots:\n  - a.csv:\n      x: step\nstages:\n  s:\n    cmd: sh s.sh\n    deps: [s.sh, n]\n    plots:\n      - b.csv:\n          x: step\n',
      's.sh': 'printf "step,v\\n0,%s\\n1,2\\n" "$(cat n)" > b.csv\n',
    });
    for (const n of [1, 2, 3]) {
      writeTree(d, { n: `${n}\n`, 'a.csv': `step,loss\n0,${n}\n1,${n / 10}\n` });
      rvcOk(d, ['repro', '-q']);
      git(d, ['add', '-A']);
      git(d, ['commit', '-q', '-m', `c${n}`]);
      git(d, ['tag', `c${n}`]);
    }
    const runs = (revs: string[]) => {
      fs.rmSync(path.join(bin, 'log'), { force: true });
      const r = rvcOk(d, ['plots', 'diff', '--json', ...revs], { PATH: `${bin}:${process.env.PATH}` });
      return { count: fs.readFileSync(path.join(bin, 'log'), 'utf8').trim().split('\n').length, json: JSON.parse(r.stdout) as { plots: { id: string; spec: { data: { values: { rev: string; x: number; y: number }[] } } }[] } };
    };
    const one = runs(['c1']);
    const three = runs(['c1', 'c2', 'c3']);
    expect(three.count).toBe(one.count);
    const b = three.json.plots.find((p) => p.id === 'b.csv')!.spec.data.values;
    // b.csv is a cached output git does not hold: each revision's comes from the cache through its rvc.lock.
    expect(b.filter((v) => v.x === 0).map((v) => [v.rev, v.y])).toEqual([['c1', 1], ['c2', 2], ['c3', 3], ['workspace', 3]]);
    const a = three.json.plots.find((p) => p.id === 'a.csv')!.spec.data.values;
    expect(a.filter((v) => v.x === 1).map((v) => v.y)).toEqual([0.1, 0.2, 0.3, 0.3]);
  });
});

describe('the DVC get-started layout', () => {
  it.skipIf(!!skip)('an evaluate stage writing eval/plots/*.json and a confusion CSV, with a DVCLive-style top-level plots: section, renders from plots show and plots diff HEAD~1', async () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, {
      'params.yaml': 'threshold: 0.5\n',
      'importance.png': PNG,
      'evaluate.sh': [
        't=$(sed -n "s/^threshold: //p" params.yaml)',
        'mkdir -p eval/plots/prc dvclive/plots/metrics',
        'printf \'[{"fpr": 0, "tpr": 0}, {"fpr": 0.2, "tpr": %s}, {"fpr": 1, "tpr": 1}]\' "$t" > eval/plots/roc.json',
        'for s in train test; do printf \'{"prc": [{"recall": 0, "precision": 1}, {"recall": %s, "precision": 0.8}, {"recall": 1, "precision": 0.5}]}\' "$t" > eval/plots/prc/$s.json; done',
        'printf "actual,predicted\\ncat,cat\\ncat,dog\\ndog,dog\\n" > eval/plots/cm.csv',
        'printf \'{"auc": %s}\' "$t" > eval/metrics.json',
        'cp importance.png eval/importance.png',
        'printf "step\\tloss\\n0\\t1\\n1\\t%s\\n" "$t" > dvclive/plots/metrics/loss.tsv',
        '',
      ].join('\n'),
      'rvc.yaml': `stages:
  evaluate:
    cmd: sh evaluate.sh
    deps: [evaluate.sh, importance.png]
    params: [threshold]
    outs:
      - eval/importance.png
      - eval/plots/prc
    metrics:
      - eval/metrics.json:
          cache: false
    plots:
      - eval/plots/roc.json:
          cache: false
          x: fpr
          y: tpr
      - eval/plots/cm.csv:
          cache: false
          template: confusion
          x: actual
          y: predicted
plots:
  - Precision-Recall:
      template: simple
      x: recall
      y:
        eval/plots/prc/train.json: precision
        eval/plots/prc/test.json: precision
  - eval/importance.png
  - dvclive/plots/metrics:
      x: step
`,
    });
    for (const t of ['0.5', '0.7']) {
      writeTree(d, { 'params.yaml': `threshold: ${t}\n` });
      rvcOk(d, ['repro']);
      git(d, ['add', '-A']);
      git(d, ['commit', '-q', '-m', `threshold ${t}`]);
    }
    for (const args of [['plots', 'show', '-o', 'show'], ['plots', 'diff', 'HEAD~1', '-o', 'diff']]) {
      const r = rvc(d, args);
      expect(r.code, r.stderr).toBe(0);
      const rep = await inspectPage(b, path.join(d, args[args.length - 1]!, 'index.html'));
      expect(rep.network).toEqual([]);
      expect(rep.consoleErrors).toEqual([]);
      expect(rep.plots.map((x) => x.id).sort()).toEqual(['Precision-Recall', 'dvclive/plots/metrics/loss.tsv', 'eval/importance.png', 'eval/plots/cm.csv', 'eval/plots/roc.json']);
      for (const x of rep.plots) expect(x.state, `${args[1]} ${x.id}: ${x.text}`).toBe('ok');
    }
    // HEAD~1's precision-recall files are inside a cached folder output: read through its manifest.
    const j = JSON.parse(rvcOk(d, ['plots', 'diff', 'HEAD~1', '--json']).stdout) as { plots: { id: string; spec?: { data: { values: { rev: string; x: number }[] } } }[] };
    const prc = j.plots.find((x) => x.id === 'Precision-Recall')!.spec!.data.values;
    expect(prc.filter((v) => v.rev === 'HEAD~1' && v.x === 0.5)).toHaveLength(2);
    expect(prc.filter((v) => v.rev === 'workspace' && v.x === 0.7)).toHaveLength(2);
  });
});

describe('rvc plots show --history', () => {
  it.skipIf(!!skip)('each metric over 5 commits and the workspace: a point per revision that has it, a gap where one has not, no network, no console error', async () => {
    const d = makeRepo();
    made.push(d);
    // acc at every commit; f1 only at commits 3 and 5 (absent at 4: a gap, not a zero); a nested key; a text value never plotted.
    writeTree(d, { 'rvc.yaml': 'metrics:\n  - metrics.json\n' });
    const commits: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const m: Record<string, unknown> = { acc: i / 10, train: { loss: 10 - i }, note: 'text' };
      if (i === 3 || i === 5) m.f1 = i / 100;
      writeTree(d, { 'metrics.json': JSON.stringify(m) });
      git(d, ['add', '-A']);
      git(d, ['commit', '-q', '-m', `c${i}`, `--date=2026-01-0${i}T12:00:00Z`]);
      commits.push(git(d, ['rev-parse', 'HEAD']).trim());
      if (i === 2) git(d, ['tag', 'v2']);
    }
    writeTree(d, { 'metrics.json': JSON.stringify({ acc: 0.9, train: { loss: 1 }, f1: 0.2 }) });
    const page = path.join(d, 'rvc_plots', 'index.html');
    rvcOk(d, ['plots', 'show', '--history']);
    const rep = await inspectPage(b, page);
    expect(rep.network).toEqual([]);
    expect(rep.consoleErrors).toEqual([]);
    const p = byId(rep);
    expect(Object.keys(p).sort()).toEqual(['metrics.json:acc', 'metrics.json:f1', 'metrics.json:train.loss']);
    for (const x of rep.plots) expect(x.state, `${x.id}: ${x.text}`).toBe('ok');
    // One line plus one point per revision holding the metric (5 commits and the workspace).
    expect(p['metrics.json:acc']!.marks).toBe(1 + 6);
    expect(p['metrics.json:train.loss']!.marks).toBe(1 + 6);
    expect(p['metrics.json:f1']!.marks).toBe(1 + 3);
    // f1's line is broken at commit 4 (c3 alone, then c5 to the workspace): two sub-paths, not one through a zero.
    const tab = await b.context.newPage();
    try {
      await tab.goto(`file://${page}`);
      await tab.waitForFunction(() => document.body.dataset.ready === '1');
      const d1 = await tab.$eval('[data-plot-id="metrics.json:f1"] path[aria-roledescription="line mark"]', (e) => e.getAttribute('d') ?? '');
      expect(d1.match(/M/g)?.length).toBe(2);
    } finally {
      await tab.close();
    }

    type J = { revisions: string[]; plots: { id: string; spec: { data: { values: { x: string; y: number | null; rev: string; date: string }[] } } }[] };
    const j = JSON.parse(rvcOk(d, ['plots', 'show', '--history', '--json']).stdout) as J;
    const short = commits.map((c) => c.slice(0, 7));
    // The repository's first commit (rvc init) has no metrics file: a gap in every line.
    const first = git(d, ['rev-list', '--max-parents=0', 'HEAD']).trim();
    expect(j.revisions).toEqual([first.slice(0, 7), short[0], 'v2', short[2], short[3], 'main', 'workspace']);
    const vals = (id: string) => j.plots.find((x) => x.id === id)!.spec.data.values;
    expect(vals('metrics.json:acc').map((v) => v.y)).toEqual([null, 0.1, 0.2, 0.3, 0.4, 0.5, 0.9]);
    expect(vals('metrics.json:acc').map((v) => v.rev)).toEqual([first, ...commits, 'workspace']);
    expect(vals('metrics.json:f1').map((v) => v.y)).toEqual([null, null, null, 0.03, null, 0.05, 0.2]);
    expect(vals('metrics.json:train.loss').map((v) => v.y)).toEqual([null, 9, 8, 7, 6, 5, 1]);
    expect(vals('metrics.json:acc')[1]!.date).toMatch(/^\d{4}-\d\d-\d\dT/);
    // -n 2: the last two commits; a workspace equal to HEAD adds no point.
    writeTree(d, { 'metrics.json': JSON.stringify({ acc: 0.5, train: { loss: 5 }, note: 'text', f1: 0.05 }) });
    const k = JSON.parse(rvcOk(d, ['plots', 'show', '--history', '-n', '2', '--json']).stdout) as J;
    expect(k.revisions).toEqual([short[3], 'main']);
    expect(k.plots.find((x) => x.id === 'metrics.json:f1')!.spec.data.values.map((v) => v.y)).toEqual([null, 0.05]);
    // -a adds a branch's tip off HEAD's line, placed among HEAD's commits by its date.
    git(d, ['checkout', '-q', '-b', 'exp', 'v2']);
    writeTree(d, { 'metrics.json': JSON.stringify({ acc: 0.33 }) });
    git(d, ['commit', '-q', '-am', 'exp', '--date=2026-01-03T18:00:00Z']);
    git(d, ['checkout', '-q', 'main']);
    const a = JSON.parse(rvcOk(d, ['plots', 'show', '--history', '-n', '3', '-a', '--json']).stdout) as J;
    expect(a.revisions).toEqual([short[2], 'exp', short[3], 'main']);
    expect(a.plots.find((x) => x.id === 'metrics.json:acc')!.spec.data.values.map((v) => v.y)).toEqual([0.3, 0.33, 0.4, 0.5]);
  });
});

describe('rvc plots templates and modify', () => {
  it('templates are listed, printed and written; a written template is used by name', () => {
    const names = rvcOk(repo, ['plots', 'templates']).stdout.trim().split('\n');
    expect(names).toEqual(['linear', 'simple', 'scatter', 'smooth', 'confusion', 'confusion_normalized', 'bar_horizontal', 'bar_horizontal_sorted']);
    const t = JSON.parse(rvcOk(repo, ['plots', 'templates', 'scatter']).stdout) as { mark: { type: string } };
    expect(t.mark.type).toBe('point');
    rvcOk(repo, ['plots', 'templates', 'linear', '-o', '.rvc/plots']);
    const custom = JSON.parse(fs.readFileSync(path.join(repo, '.rvc/plots/linear.json'), 'utf8')) as Record<string, unknown>;
    custom['mark'] = 'area';
    fs.writeFileSync(path.join(repo, '.rvc/plots/linear.json'), JSON.stringify(custom));
    const j = JSON.parse(rvcOk(repo, ['plots', 'show', 'loss.json', '--json']).stdout) as { plots: { spec: { mark: string } }[] };
    expect(j.plots[0]!.spec.mark).toBe('area');
    fs.rmSync(path.join(repo, '.rvc/plots'), { recursive: true });
  });

  it('modify edits one plot in rvc.yaml and keeps every other byte', () => {
    const before = fs.readFileSync(path.join(repo, 'rvc.yaml'), 'utf8');
    rvcOk(repo, ['plots', 'modify', 'loss.json', '-t', 'smooth', '--title', 'Loss', '--unset', 'x']);
    rvcOk(repo, ['plots', 'modify', 'curve.png', '--title', 'Curve']);
    const after = fs.readFileSync(path.join(repo, 'rvc.yaml'), 'utf8');
    const want = before
      .replace('  - curve.png\n', '  - curve.png:\n      title: Curve\n')
      .replace('      - loss.json:\n          x: step\n          y: loss\n', '      - loss.json:\n          y: loss\n          template: smooth\n          title: Loss\n');
    expect(after).toBe(want);
    const j = JSON.parse(rvcOk(repo, ['plots', 'show', 'loss.json', '--json']).stdout) as { plots: { template: string; spec: { title: string } }[] };
    expect(j.plots[0]).toMatchObject({ template: 'smooth', spec: { title: 'Loss' } });
    const bad = rvc(repo, ['plots', 'modify', 'nothere.csv', '-x', 'a']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("'nothere.csv' is not a plot");
    fs.writeFileSync(path.join(repo, 'rvc.yaml'), before);
  });
});
