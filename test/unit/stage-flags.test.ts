import { describe, expect, it } from 'vitest';
import { parse as parseYamlPlain } from 'yaml';
import { rvcError } from '../helpers/errors.js';
import { parsePipeline } from '../../src/model/pipeline/parse.js';
import { removeStage, setStageFrozen } from '../../src/model/pipeline/edit.js';
import { buildGraph, outputGraph, renderAscii } from '../../src/model/dag.js';

/** The editing behind `rvc freeze`/`unfreeze`/`remove <stage>` and the graph of `dag --outs`. */

const TEXT = `# the pipeline
stages:
  prepare:   # first
    cmd: python prep.py
    deps: [data.csv]
    outs: [prepared]

  train:
    cmd: >-
      python train.py
      --fast
    deps:
      - prepared   # input
    outs:
      - model.pkl
  evaluate: {cmd: python eval.py, deps: [model.pkl], metrics: [scores.json]}
`;

describe('setStageFrozen', () => {
  it('adds or removes only the frozen line, leaving every other byte', () => {
    for (const name of ['prepare', 'train']) {
      const frozen = setStageFrozen(TEXT, name, true, 'rvc.yaml');
      const added = frozen.split('\n').filter((l, i) => l !== TEXT.split('\n')[i]);
      expect(frozen.split('\n')).toHaveLength(TEXT.split('\n').length + 1);
      expect(added[0]).toBe('    frozen: true');
      expect(parsePipeline(frozen, 'rvc.yaml').stages.find((s) => s.name === name)!.frozen).toBe(true);
      expect(setStageFrozen(frozen, name, true, 'rvc.yaml')).toBe(frozen);
      expect(setStageFrozen(frozen, name, false, 'rvc.yaml')).toBe(TEXT);
    }
    // A flow-style stage is edited through the YAML document; its meaning is what counts.
    const flow = setStageFrozen(TEXT, 'evaluate', true, 'rvc.yaml');
    expect(parsePipeline(flow, 'rvc.yaml').stages.find((s) => s.name === 'evaluate')!.frozen).toBe(true);
    expect(flow).toContain('# the pipeline');
  });

  it('rewrites frozen: false in place, and refuses an unknown or generated stage', () => {
    const t = 'stages:\n  a:\n    cmd: x\n    frozen: false # keep\n  b:\n    cmd: y\n';
    expect(setStageFrozen(t, 'a', true, 'rvc.yaml')).toBe('stages:\n  a:\n    cmd: x\n    frozen: true # keep\n  b:\n    cmd: y\n');
    expect(setStageFrozen(t, 'a', false, 'rvc.yaml')).toBe('stages:\n  a:\n    cmd: x\n  b:\n    cmd: y\n');
    expect(rvcError(() => setStageFrozen(t, 'zz', true, 'rvc.yaml')).code).toBe('STAGE_NOT_FOUND');
    const gen = 'stages:\n  g:\n    foreach: [1, 2]\n    do:\n      cmd: echo ${item}\n';
    const e = rvcError(() => setStageFrozen(gen, 'g@1', true, 'rvc.yaml'));
    expect(e.code).toBe('STAGE_NOT_FOUND');
    expect(e.hint).toContain("freeze 'g'");
    expect(parsePipeline(setStageFrozen(gen, 'g', true, 'rvc.yaml'), 'rvc.yaml').stages.every((s) => s.frozen)).toBe(true);
  });
});

describe('removeStage', () => {
  it("cuts only the stage's lines", () => {
    const out = removeStage(TEXT, 'train', 'rvc.yaml');
    expect(out).toBe(TEXT.replace(/  train:\n[\s\S]*?      - model.pkl\n/, ''));
    const first = removeStage(TEXT, 'prepare', 'rvc.yaml');
    expect(first).toBe(TEXT.replace(/  prepare:.*\n.*\n.*\n.*\n/, ''));
    expect(Object.keys((parseYamlPlain(first) as { stages: object }).stages)).toEqual(['train', 'evaluate']);
    expect(Object.keys((parseYamlPlain(removeStage(TEXT, 'evaluate', 'rvc.yaml')) as { stages: object }).stages)).toEqual(['prepare', 'train']);
  });
});

describe('outputGraph', () => {
  it('links outputs through the stages that read them, folders included', () => {
    const st = parsePipeline(`stages:
  prep: {cmd: x, deps: [raw], outs: [data]}
  feat: {cmd: x, deps: [data/part.csv], outs: [feats.npy, stats.json]}
  train: {cmd: x, deps: [feats.npy], outs: [model.pkl], metrics: [scores.json]}
  other: {cmd: x, outs: [alone.txt]}
`, 'rvc.yaml').stages;
    const g = outputGraph(buildGraph(st));
    expect(g.names).toEqual(['alone.txt', 'data', 'feats.npy', 'model.pkl', 'scores.json', 'stats.json']);
    expect(g.children.get('data')).toEqual(['feats.npy', 'stats.json']);
    expect(g.children.get('feats.npy')).toEqual(['model.pkl', 'scores.json']);
    expect(g.children.get('stats.json')).toEqual([]);
    expect(g.parents.get('model.pkl')).toEqual(['feats.npy']);
    expect(renderAscii(g)).toBe('alone.txt\ndata\n+-- feats.npy\n|   +-- model.pkl\n|   `-- scores.json\n`-- stats.json\n');
    expect(outputGraph(buildGraph(st), ['prep', 'feat']).names).toEqual(['data', 'feats.npy', 'stats.json']);
  });
});
