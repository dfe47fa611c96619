import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { rvc, rvcOk, makeRepo, writeTree, rmrf } from '../helpers/cli.js';

/**
 * The environment block of a stage run: recorded by repro in rvc.lock and the run-cache entry,
 * compared by status (informational, stale only when the project is strict), and probes that
 * fail or hang recorded as errors without failing the run.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function repoWith(files: Record<string, string>): string {
  const d = makeRepo();
  made.push(d);
  writeTree(d, files);
  return d;
}

function lockedEnvironment(d: string, stage = 'train'): any {
  return (parse(fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8')) as any).stages[stage].environment;
}

function pipeline(extra: string): string {
  return `stages:
  train:
    cmd: cp data.txt model.txt
    deps: [data.txt]
    outs: [model.txt]
environment:
  commands:
    tool: cat tool-version.txt
${extra}`;
}

describe('environment capture', () => {
  it('repro records the block; a changed probe is drift status reports, stale only when strict', () => {
    const d = repoWith({
      'data.txt': 'd\n', 'tool-version.txt': '2.1.0\n', 'requirements.txt': 'torch==2.1.0\n',
      'rvc.yaml': pipeline(''),
    });
    rvcOk(d, ['repro']);
    const env = lockedEnvironment(d);
    expect(env.probes).toEqual({ tool: '2.1.0' });
    expect(env.cpu.cores).toBeGreaterThan(0);
    expect(typeof env.os.kernel).toBe('string');
    expect(env.tools.node).toBe(process.version);
    expect(env.files['requirements.txt']).toMatch(/^[0-9a-f]{64}$/);
    // The run-cache entry carries it too.
    const runs = path.join(d, '.rvc/cache/runs');
    const entryFile = fs.readdirSync(runs, { recursive: true, withFileTypes: true }).find((e) => e.isFile())!;
    expect(JSON.parse(fs.readFileSync(path.join(entryFile.parentPath, entryFile.name), 'utf8')).stage.environment.probes).toEqual({ tool: '2.1.0' });

    fs.writeFileSync(path.join(d, 'tool-version.txt'), '2.2.1\n');
    const st = rvcOk(d, ['status']);
    expect(st.stdout).toContain('probes.tool 2.1.0 → 2.2.1');
    const js = JSON.parse(rvcOk(d, ['status', '--json']).stdout);
    const train = js.pipeline.stages.find((s: any) => s.name === 'train');
    expect(train.state).toBe('up to date');
    expect(train.environment).toEqual([{ key: 'probes.tool', from: '2.1.0', to: '2.2.1' }]);
    expect(js.pipeline.clean).toBe(true);
    // Not strict: repro does not rerun it.
    expect(JSON.parse(rvcOk(d, ['repro', '--json']).stdout).stages[0].status).toBe('up to date');

    // Strict about this probe only: stale, and repro reruns it and records the new value.
    fs.writeFileSync(path.join(d, 'rvc.yaml'), pipeline('  strict: [probes.tool]\n'));
    const st2 = JSON.parse(rvc(d, ['status', '--json']).stdout);
    const t2 = st2.pipeline.stages.find((s: any) => s.name === 'train');
    expect(t2.state).toBe('stale');
    expect(t2.reasons).toEqual([{ kind: 'environment-changed', key: 'probes.tool', old: '2.1.0', new: '2.2.1' }]);
    expect(rvc(d, ['status']).stdout).toContain('changed environment (strict): probes.tool 2.1.0 → 2.2.1');
    const r = JSON.parse(rvcOk(d, ['repro', '--json']).stdout);
    expect(r.stages[0].status).toBe('ran');
    expect(lockedEnvironment(d).probes).toEqual({ tool: '2.2.1' });

    // Back to the old tool with the old inputs: the run-cache entry of 2.1.0 differs in a strict
    // key, so it is not restored; the stage runs again.
    fs.writeFileSync(path.join(d, 'tool-version.txt'), '2.1.0\n');
    expect(JSON.parse(rvcOk(d, ['repro', '--json']).stdout).stages[0].status).toBe('ran');
  });

  it('a probe that fails or outlives the timeout is recorded as an error and the run succeeds', () => {
    const d = repoWith({
      'data.txt': 'd\n',
      'rvc.yaml': pipeline('    broken: exit 3\n    slow: sleep 30\n  timeout: 0.3\n'),
    });
    const started = Date.now();
    rvcOk(d, ['repro']);
    // The sleeping probe was killed, not waited for (a generous bound, not a timing assertion on rvc).
    expect(Date.now() - started).toBeLessThan(25_000);
    const env = lockedEnvironment(d);
    expect(env.probes.broken).toEqual({ error: 'exit 3' });
    expect(env.probes.slow).toEqual({ error: 'timed out after 0.3 s' });
    expect(fs.readFileSync(path.join(d, 'model.txt'), 'utf8')).toBe('d\n');
  });
});
