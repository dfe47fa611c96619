import { describe, expect, it } from 'vitest';
import { rvcError } from '../helpers/errors.js';
import { parsePipeline } from '../../src/model/pipeline/parse.js';
import type { Stage } from '../../src/model/pipeline/types.js';
import {
  ASCII_MAX_DEPTH, ancestors, buildGraph, descendants, levels, missingDeps, producerOf, renderAscii, renderDot, renderMermaid,
  selectStages, topoOrder, type Graph,
} from '../../src/model/dag.js';
import { Scheduler } from '../../src/pipeline/scheduler.js';


/** Stages from a compact spec: name → [deps, outs]. */
function stages(spec: Record<string, [string[], string[]]>): Stage[] {
  const body = Object.entries(spec).map(([n, [deps, outs]]) =>
    `  ${n}:\n    cmd: run ${n}\n    deps: ${JSON.stringify(deps)}\n    outs: ${JSON.stringify(outs)}\n`).join('');
  return parsePipeline(`stages:\n${body}`, 'rvc.yaml').stages;
}

const graph = (spec: Record<string, [string[], string[]]>): Graph => buildGraph(stages(spec));

// prepare → featurize, split → train → evaluate (a diamond), listed out of order on purpose
const DIAMOND = {
  train: [['data/features', 'data/split'], ['model.pkl']],
  evaluate: [['model.pkl', 'data/split/test.csv'], ['metrics.json']],
  split: [['data/prepared'], ['data/split']],
  prepare: [['data/raw'], ['data/prepared']],
  featurize: [['data/prepared/rows.csv'], ['data/features']],
} as Record<string, [string[], string[]]>;

describe('edges', () => {
  it('connects equal paths, files inside output directories and directories holding outputs', () => {
    const g = graph({
      a: [[], ['data/a']],
      b: [['data/a/file.csv'], ['out/b.txt']],
      c: [['out'], ['c.txt']],
      d: [['c.txt', 'data-a'], ['d.txt']],
    });
    expect(g.children.get('a')).toEqual(['b']);
    expect(g.children.get('b')).toEqual(['c']);
    expect(g.children.get('c')).toEqual(['d']);
    expect(g.parents.get('a')).toEqual([]);
    expect(g.parents.get('d')).toEqual(['c']);
  });

  it('counts params files as inputs', () => {
    const s = parsePipeline('stages:\n  gen:\n    cmd: x\n    outs: [conf/p.yaml]\n  use:\n    cmd: y\n    params: [{conf/p.yaml: [lr]}]\n', 'rvc.yaml').stages;
    expect(buildGraph(s).parents.get('use')).toEqual(['gen']);
  });

  it('counts metrics files as outputs', () => {
    const s = parsePipeline('stages:\n  ev:\n    cmd: x\n    metrics: [m.json]\n  rep:\n    cmd: y\n    deps: [m.json]\n', 'rvc.yaml').stages;
    expect(buildGraph(s).parents.get('rep')).toEqual(['ev']);
  });
});

describe('validation', () => {
  it('names the stages of a cycle of length 1, in order', () => {
    const e = rvcError(() => graph({ loop: [['state'], ['state']] }));
    expect(e.code).toBe('PIPELINE_CYCLE');
    expect(e.message).toContain('loop -> loop');
    expect(e.details).toEqual({ cycle: ['loop', 'loop'] });
  });

  it('also sees a stage reading inside its own output directory', () => {
    expect(rvcError(() => graph({ a: [['out/x'], ['out']] })).code).toBe('PIPELINE_CYCLE');
  });

  it('names the stages of a cycle of length 2, in order', () => {
    const e = rvcError(() => graph({ a: [['y'], ['x']], b: [['x'], ['y']] }));
    expect(e.code).toBe('PIPELINE_CYCLE');
    expect(e.message).toContain('a -> b -> a');
  });

  it('names the stages of a cycle of length 3, in order, past the acyclic part', () => {
    const e = rvcError(() => graph({
      src: [[], ['s']], c: [['s', 'b.out'], ['c.out']], a: [['c.out'], ['a.out']], b: [['a.out'], ['b.out']],
    }));
    expect(e.code).toBe('PIPELINE_CYCLE');
    expect(e.message).toContain('a -> b -> c -> a');
    expect(e.details).toEqual({ cycle: ['a', 'b', 'c', 'a'] });
  });

  it('refuses two stages writing the same output, naming both and the path', () => {
    const e = rvcError(() => graph({ one: [[], ['model.pkl']], two: [['x'], ['model.pkl']] }));
    expect(e.code).toBe('PATH_OVERLAPS');
    expect(e.message).toContain("'one'");
    expect(e.message).toContain("'two'");
    expect(e.message).toContain('model.pkl');
    expect(e.details).toEqual({ stages: ['one', 'two'], paths: ['model.pkl'] });
  });

  it('refuses an output inside another stage\'s output directory', () => {
    const e = rvcError(() => graph({ dir: [[], ['data']], file: [[], ['data/sub/x.csv']] }));
    expect(e.code).toBe('PATH_OVERLAPS');
    expect(e.message).toContain("'dir'");
    expect(e.message).toContain("'file'");
    expect(e.details).toEqual({ stages: ['dir', 'file'], paths: ['data', 'data/sub/x.csv'] });
    // a shared prefix is not containment
    expect(() => graph({ dir: [[], ['data']], file: [[], ['data-2/x.csv']] })).not.toThrow();
  });

  it('refuses the same stage name twice', () => {
    const s = stages({ a: [[], ['x']] });
    expect(rvcError(() => buildGraph([...s, ...s])).code).toBe('STAGE_INVALID');
  });
});

describe('ordering', () => {
  it('puts upstream first and breaks ties by name', () => {
    const g = graph(DIAMOND);
    expect(topoOrder(g)).toEqual(['prepare', 'featurize', 'split', 'train', 'evaluate']);
    expect(g.names).toEqual(['evaluate', 'featurize', 'prepare', 'split', 'train']);
  });

  it('does not depend on the order stages are listed in', () => {
    const s = stages(DIAMOND);
    const expected = topoOrder(buildGraph(s));
    for (let i = 0; i < 10; i++) {
      const shuffled = [...s].sort(() => Math.random() - 0.5);
      expect(topoOrder(buildGraph(shuffled))).toEqual(expected);
    }
  });

  it('orders independent chains by name', () => {
    const g = graph({ z1: [[], ['z']], z2: [['z'], ['zz']], a1: [[], ['a']], a2: [['a'], ['aa']] });
    expect(topoOrder(g)).toEqual(['a1', 'a2', 'z1', 'z2']);
  });

  it('groups independent stages into levels', () => {
    expect(levels(graph(DIAMOND))).toEqual([['prepare'], ['featurize', 'split'], ['train'], ['evaluate']]);
    expect(levels(graph(DIAMOND), ['split', 'evaluate'])).toEqual([['split'], ['evaluate']]);
  });

  it('handles a long chain without deep recursion', () => {
    const n = 5000;
    const spec: Record<string, [string[], string[]]> = {};
    for (let i = 0; i < n; i++) spec[`s${String(i).padStart(5, '0')}`] = [i === 0 ? [] : [`f${i - 1}`], [`f${i}`]];
    const g = graph(spec);
    expect(topoOrder(g)).toHaveLength(n);
    expect(ancestors(g, 's04999')).toHaveLength(n - 1);
    const lines = renderAscii(g).trimEnd().split('\n');
    const plain = lines.filter((l) => !l.endsWith(')'));
    expect(plain).toHaveLength(n);
    expect(new Set(plain.map((l) => l.trim().replace(/^`-- /, ''))).size).toBe(n);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(4 * (ASCII_MAX_DEPTH + 1) + 30);
  });
});

describe('selection', () => {
  const g = graph(DIAMOND);

  it('lists ancestors and descendants', () => {
    expect(ancestors(g, 'train')).toEqual(['featurize', 'prepare', 'split']);
    expect(ancestors(g, 'prepare')).toEqual([]);
    expect(descendants(g, 'split')).toEqual(['evaluate', 'train']);
    expect(descendants(g, 'featurize')).toEqual(['evaluate', 'train']);
    expect(descendants(g, 'evaluate')).toEqual([]);
  });

  it('selects what a command on targets runs, in order', () => {
    expect(selectStages(g, ['train'])).toEqual(['prepare', 'featurize', 'split', 'train']);
    expect(selectStages(g, ['featurize'], { downstream: true })).toEqual(['featurize', 'train', 'evaluate']);
    expect(selectStages(g, ['train', 'split'], { single: true })).toEqual(['split', 'train']);
    expect(selectStages(g, [])).toEqual(topoOrder(g));
  });

  it('refuses unknown stages', () => {
    expect(rvcError(() => ancestors(g, 'nope')).code).toBe('STAGE_NOT_FOUND');
    expect(rvcError(() => selectStages(g, ['nope'])).code).toBe('STAGE_NOT_FOUND');
    expect(rvcError(() => topoOrder(g, ['nope'])).code).toBe('STAGE_NOT_FOUND');
  });

  it('finds the stage producing a path', () => {
    expect(producerOf(g, 'data/split/test.csv')).toBe('split');
    expect(producerOf(g, 'model.pkl')).toBe('train');
    expect(producerOf(g, 'data')).toBeUndefined();
  });
});

describe('missingDeps', () => {
  it('lists inputs nobody produces that do not exist', () => {
    const s = parsePipeline('stages:\n  a:\n    cmd: x\n    deps: [raw, code.py, data/prepared/x]\n    params: [lr]\n    outs: [out]\n  b:\n    cmd: y\n    deps: [out/part, gone.csv]\n  c:\n    cmd: z\n    deps: [data]\n', 'rvc.yaml').stages;
    const present = new Set(['code.py']);
    expect(missingDeps(buildGraph(s), (p) => present.has(p))).toEqual([
      { stage: 'a', path: 'data/prepared/x' },
      { stage: 'a', path: 'params.yaml' },
      { stage: 'a', path: 'raw' },
      { stage: 'b', path: 'gone.csv' },
      { stage: 'c', path: 'data' },
    ]);
  });
});

describe('Scheduler', () => {
  it('releases stages as their parents finish', () => {
    const s = new Scheduler(graph(DIAMOND));
    expect(s.ready()).toEqual(['prepare']);
    s.start('prepare');
    expect(s.ready()).toEqual([]);
    expect(s.finish('prepare', true)).toEqual([]);
    expect(s.ready()).toEqual(['featurize', 'split']);
    s.start('featurize');
    s.start('split');
    s.finish('split', true);
    expect(s.ready()).toEqual([]);
    s.finish('featurize', true);
    expect(s.ready()).toEqual(['train']);
    s.start('train');
    s.finish('train', true);
    s.start('evaluate');
    expect(s.done).toBe(false);
    s.finish('evaluate', true);
    expect(s.done).toBe(true);
  });

  it('skips everything downstream of a failure and goes on elsewhere', () => {
    const g = graph({ ...DIAMOND, other: [[], ['other.txt']], after: [['other.txt'], ['after.txt']] });
    const s = new Scheduler(g);
    expect(s.ready()).toEqual(['other', 'prepare']);
    s.start('prepare');
    s.finish('prepare', true);
    s.start('split');
    expect(s.finish('split', false)).toEqual(['evaluate', 'train']);
    expect(s.stateOf('train')).toBe('skipped');
    expect(s.ready()).toEqual(['other', 'featurize']);
    s.start('featurize');
    s.finish('featurize', true);
    expect(s.ready()).toEqual(['other']);
    s.start('other');
    s.finish('other', true);
    s.start('after');
    s.finish('after', true);
    expect(s.done).toBe(true);
  });

  it('schedules a subset only', () => {
    const s = new Scheduler(graph(DIAMOND), ['train', 'evaluate']);
    expect(s.ready()).toEqual(['train']);
    expect(s.stateOf('prepare')).toBeUndefined();
  });

  it('refuses out-of-order calls', () => {
    const s = new Scheduler(graph(DIAMOND));
    expect(rvcError(() => s.start('train')).code).toBe('INTERNAL');
    expect(rvcError(() => s.finish('prepare', true)).code).toBe('INTERNAL');
  });
});

describe('renderers', () => {
  const g = graph(DIAMOND);
  const edges: [string, string][] = [
    ['prepare', 'featurize'], ['prepare', 'split'], ['featurize', 'train'], ['split', 'train'], ['split', 'evaluate'], ['train', 'evaluate'],
  ];

  it('draws a readable ASCII tree with every stage and edge', () => {
    expect(renderAscii(g)).toBe([
      'prepare',
      '+-- featurize',
      '|   `-- train',
      '|       `-- evaluate',
      '`-- split',
      '    +-- evaluate (see above)',
      '    `-- train (see above)',
      '',
    ].join('\n'));
    expect(renderAscii(g, { unicode: true })).toContain('└── split');
    // every edge appears as a parent line followed (at deeper indent) by the child
    const lines = renderAscii(g).trimEnd().split('\n');
    const depth = (l: string) => l.search(/[A-Za-z]/);
    const name = (l: string) => l.slice(depth(l)).replace(' (see above)', '');
    const drawn = new Set<string>();
    lines.forEach((l, i) => {
      for (let j = i - 1; j >= 0; j--) {
        if (depth(lines[j]!) < depth(l)) { drawn.add(`${name(lines[j]!)}>${name(l)}`); break; }
      }
    });
    expect([...drawn].sort()).toEqual(edges.map(([a, b]) => `${a}>${b}`).sort());
    expect(renderAscii(buildGraph([]))).toBe('');
  });

  it('writes DOT with every stage and edge', () => {
    const dot = renderDot(g);
    expect(dot.startsWith('strict digraph rvc {')).toBe(true);
    for (const n of g.names) expect(dot).toContain(`"${n}";`);
    for (const [a, b] of edges) expect(dot).toContain(`"${a}" -> "${b}";`);
    expect(dot.match(/->/g)).toHaveLength(edges.length);
  });

  it('writes Mermaid with every stage and edge', () => {
    const m = renderMermaid(g);
    expect(m.startsWith('flowchart TD\n')).toBe(true);
    const ids = new Map([...m.matchAll(/^ {2}(s\d+)\["([^"]+)"\]$/gm)].map((x) => [x[2]!, x[1]!]));
    expect([...ids.keys()].sort()).toEqual([...g.names]);
    for (const [a, b] of edges) expect(m).toContain(`${ids.get(a)} --> ${ids.get(b)}`);
    expect(m.match(/-->/g)).toHaveLength(edges.length);
  });

  it('continues deep trees below instead of indenting without end', () => {
    const spec: Record<string, [string[], string[]]> = {};
    const n = ASCII_MAX_DEPTH + 5;
    for (let i = 0; i < n; i++) spec[`c${String(i).padStart(2, '0')}`] = [i === 0 ? [] : [`f${i - 1}`], [`f${i}`]];
    const out = renderAscii(graph(spec)).split('\n');
    const cut = `c${String(ASCII_MAX_DEPTH + 1).padStart(2, '0')}`;
    expect(out.filter((l) => l.includes(cut))).toEqual([`${' '.repeat(4 * ASCII_MAX_DEPTH)}\`-- ${cut} (continued below)`, cut]);
  });

  it('renders generated stage names', () => {
    const s = parsePipeline('stages:\n  t:\n    foreach: [us, eu]\n    do:\n      cmd: x\n      outs: ["m/${item}"]\n  r:\n    cmd: y\n    deps: [m]\n', 'rvc.yaml').stages;
    const gg = buildGraph(s);
    expect(renderDot(gg)).toContain('"t@eu" -> "r";');
    expect(renderMermaid(gg)).toContain('["t@us"]');
    expect(renderAscii(gg)).toBe('t@eu\n`-- r\nt@us\n`-- r (see above)\n');
  });
});
