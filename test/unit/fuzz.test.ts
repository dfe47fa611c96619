/**
 * Malformed-input fuzzing of every parser rvc applies to a file someone else may have written.
 *
 * The property is the same for each: the parser returns a value, or throws an RvcError whose
 * message names the file and — for text formats — the line; never another exception type and
 * never a hang (every single input must finish within PER_INPUT_MS). Inputs are arbitrary
 * strings and bytes, and valid documents put through mutations: truncation, flipped bytes,
 * duplicated, removed and swapped lines, values of the wrong type, huge numbers, deep nesting,
 * alias bombs and very long lines. Valid documents must also round-trip.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { stringify as toToml } from 'smol-toml';
import { RvcError } from '../../src/errors.js';
import { parsePointer, serializePointer, type Pointer } from '../../src/model/pointer.js';
import { parseTree, serializeTree, validateTreePaths, type TreeEntry } from '../../src/model/tree.js';
import { parseLock, serializeLock, type Lock } from '../../src/model/lock.js';
import { parsePipeline } from '../../src/model/pipeline/parse.js';
import { serializePipeline, type StageDef } from '../../src/model/pipeline/edit.js';
import { parseConfigLayer, serializeConfigLayer, setConfigKey, type ConfigLayer } from '../../src/model/config.js';
import { parsePlotTable } from '../../src/plots/data.js';
import { parseParamsFile } from '../../src/model/params.js';
import { deepEqual } from '../../src/model/values.js';
import { toYaml } from '../../src/model/yaml.js';
import { reservedNameOf } from '../../src/model/paths.js';
import { IgnoreRules } from '../../src/fsutil/walk.js';
import { HashState } from '../../src/hashing/state.js';
import { tmpDir, rmrf } from '../helpers/cli.js';

/** No single input may take longer than this (a hang or a blow-up shows as a failure). */
// Generous: a hang (exponential or quadratic blow-up) takes far longer, while a loaded machine can
// slow an ordinary parse by several times; the bound must not depend on the load.
const PER_INPUT_MS = 10_000;
/** Runs per property; scaled by FUZZ_RUNS=n for a longer local session. */
const SCALE = Number(process.env.FUZZ_RUNS ?? '1');
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

/** Inputs fuzzed per parser, printed at the end (docs/reliability.md quotes them). */
const fuzzed: Record<string, number> = {};
afterAll(() => {
  const total = Object.values(fuzzed).reduce((a, b) => a + b, 0);
  console.info(`inputs fuzzed: ${JSON.stringify(fuzzed)} (total ${total})`);
});

interface Target {
  name: string;
  file: string;
  parse: (text: string) => unknown;
  /** The error must give a line (the format is text with lines a person could fix). */
  lines: boolean;
}

/** Errors about the document as a whole carry no line. */
const WHOLE_FILE = /too large/;

function check(t: Target, text: string): unknown {
  const t0 = performance.now();
  let value: unknown;
  try {
    value = t.parse(text);
  } catch (e) {
    const shown = JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…(${text.length} chars)` : text);
    if (!(e instanceof RvcError)) {
      throw new Error(`${t.name}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message} for input ${shown}`);
    }
    if (!e.message.includes(t.file) || e.path !== t.file) {
      throw new Error(`${t.name}: error does not name ${t.file}: ${e.code} ${e.message} (path ${e.path}) for input ${shown}`);
    }
    if (t.lines && !WHOLE_FILE.test(e.message)) {
      const nLines = text.split('\n').length;
      if (e.line === undefined || !Number.isInteger(e.line) || e.line < 1 || e.line > nLines) {
        throw new Error(`${t.name}: error without a valid line (${e.line}, ${nLines} lines): ${e.code} ${e.message} for input ${shown}`);
      }
      if (!e.message.includes(`${t.file}:${e.line}`)) {
        throw new Error(`${t.name}: message does not show the line ${e.line}: ${e.message} for input ${shown}`);
      }
    }
    value = e;
  }
  const ms = performance.now() - t0;
  if (ms > PER_INPUT_MS) throw new Error(`${t.name}: took ${ms.toFixed(0)} ms on an input of ${text.length} chars`);
  fuzzed[t.name] = (fuzzed[t.name] ?? 0) + 1;
  return value;
}

// ---------------------------------------------------------------------------------------------
// generators

const HEX = fc.stringMatching(/^[0-9a-f]{64}$/);
const SEG = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_. -]{0,7}$/).filter((s) => !s.endsWith(' ') && s !== '.' && s !== '..' && !reservedNameOf(s));
const UNICODE_SEG = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 })
  .filter((s) => !/[/\\\0]/.test(s) && s !== '.' && s !== '..' && !reservedNameOf(s));
const REL_PATH = fc.array(fc.oneof(SEG, UNICODE_SEG), { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

/** Arbitrary text: any UTF-16 (lone surrogates too), and arbitrary bytes read as UTF-8. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.string({ unit: fc.constantFrom(...'{}[]:,-?&*!|>\'"#%@`\n \t\\0aZ.'), maxLength: 200 }),
);

/** Values that are wrong somewhere: types, huge numbers, YAML specials, escapes. */
const HOSTILE_VALUES = [
  '[]', '{}', 'null', '~', '-1', '1e400', '-1e400', '99999999999999999999999999', '0x1F', '0o17', '.nan', '.inf', 'true', 'yes',
  '"../../outside"', '/etc/passwd', '"C:/x"', '"a\\\\b"', '"\\0"', '!!binary AAAA', '!!timestamp 2001-01-01', '*undefined_alias',
  '&anc value', '"\\uD800"', '[[[[[[[[[[[[]]]]]]]]]]]]', '{a: {b: {c: {d: {}}}}}', '|\n  block', '>-\n  folded', '""',
  '"' + 'x'.repeat(5000) + '"', '12:30:00', '2001-01-01', '!!js/function "f"', '? complex', '<<: *a', '__proto__', 'constructor',
];

const deepFlow = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepBlock = (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' 1';
const aliasBomb = (levels: number) => {
  let s = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < levels; i++) s += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  return s;
};

type Mutation =
  | { k: 'truncate'; at: number }
  | { k: 'flip'; at: number; ch: string }
  | { k: 'dupLine' | 'dropLine'; at: number }
  | { k: 'swapLines'; at: number; b: number }
  | { k: 'value'; at: number; v: string }
  | { k: 'insert'; at: number; s: string };

const INSERTS = fc.oneof(
  fc.constantFrom('\0', '\uFEFF', '\r', '\t', '\uD800', '\u2028', '---\n', '...\n', '%YAML 1.1\n', '\n  - ', ': ', '#', '&a ', '*a', '!!str ', '"', "'", '{', '[', ']', '}', ',', '? ', '<<: '),
  fc.integer({ min: 1, max: 12 }).map((n) => `\n${'  '.repeat(n)}x: y\n`),
  fc.integer({ min: 10, max: 3000 }).map(deepFlow),
  fc.integer({ min: 10, max: 300 }).map((n) => `\n${deepBlock(n)}\n`),
  fc.integer({ min: 2, max: 12 }).map((l) => `\n${aliasBomb(l)}bomb: *a${l - 1}\n`),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => 'L'.repeat(n)),
);

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), ch: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.constantFrom(':', '-', '\n', ' ', '"', '\0', '[', '{', '#', '&', '*', '9', '.', '/')) }),
  fc.record({ k: fc.constantFrom('dupLine' as const, 'dropLine' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('swapLines' as const), at: fc.nat(), b: fc.nat() }),
  fc.record({ k: fc.constant('value' as const), at: fc.nat(), v: fc.constantFrom(...HOSTILE_VALUES) }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), s: INSERTS }),
);

function mutate(text: string, m: Mutation): string {
  const lines = text.split('\n');
  switch (m.k) {
    case 'truncate':
      return text.slice(0, text.length ? m.at % (text.length + 1) : 0);
    case 'flip': {
      if (!text.length) return m.ch;
      const i = m.at % text.length;
      return text.slice(0, i) + m.ch + text.slice(i + 1);
    }
    case 'dupLine': {
      const i = m.at % lines.length;
      lines.splice(i, 0, lines[i]!);
      return lines.join('\n');
    }
    case 'dropLine':
      lines.splice(m.at % lines.length, 1);
      return lines.join('\n');
    case 'swapLines': {
      const i = m.at % lines.length;
      const j = m.b % lines.length;
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    case 'value': {
      // Replace the value after the n-th `key:` (YAML) or `"key":` (JSON lines).
      const re = /(:[ ]?)([^\n,}]*)/g;
      const hits = [...text.matchAll(re)];
      if (!hits.length) return text + m.v;
      const h = hits[m.at % hits.length]!;
      const start = h.index! + h[1]!.length;
      return text.slice(0, start) + m.v + text.slice(start + h[2]!.length);
    }
    case 'insert': {
      const i = text.length ? m.at % (text.length + 1) : 0;
      return text.slice(0, i) + m.s + text.slice(i);
    }
  }
}

const mutated = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(valid, fc.array(MUTATION, { minLength: 1, maxLength: 3 })).map(([t, ms]) => ms.reduce(mutate, t));

/** Whole-document attacks every YAML file gets, whatever its schema. */
const YAML_ATTACKS: string[] = [
  deepFlow(20_000),
  deepFlow(1000),
  `${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`,
  `${'- '.repeat(5000)}x`,
  deepBlock(500),
  `${aliasBomb(12)}outs: *a11\nstages: *a11\n`,
  `a: &a [*a]\n`,
  `x: ${'9'.repeat(100_000)}\n`,
  `x: ${'a'.repeat(2_000_000)}\n`,
  `k: v\n${'# comment\n'.repeat(20_000)}`,
  // (a 20,000-key mapping is a regression test of its own in yaml.test.ts)
  `${Array.from({ length: 3000 }, (_, i) => `k${i}: ${i}`).join('\n')}\n`,
  '\uFEFFa: 1\n',
  'a: 1\n---\nb: 2\n',
  'a: 1\na: 2\n',
  '? [a, b]\n: c\n',
  '!!binary AAAA\n',
  '%TAG ! tag:x,2000:\n--- !foo\na: 1\n',
  '"unterminated\n',
  '\0\0\0',
  '',
  '\n\n\n',
];

// valid documents ------------------------------------------------------------------------------

const pointerArb: fc.Arbitrary<Pointer> = fc.record({
  outs: fc.uniqueArray(
    fc.record({
      path: REL_PATH,
      hash: fc.constantFrom('blake3' as const, 'sha256' as const),
      digest: HEX,
      tree: fc.boolean(),
      size: fc.maxSafeNat(),
      nfiles: fc.option(fc.maxSafeNat(), { nil: undefined }),
      exec: fc.boolean(),
    }).map(({ digest, tree, nfiles, exec, ...o }) => (tree
      ? { ...o, oid: `${digest}.tree`, ...(nfiles === undefined ? {} : { nfiles }) }
      : { ...o, oid: digest, ...(exec ? { exec: true } : {}) })),
    { minLength: 1, maxLength: 4, selector: (o) => o.path },
  ),
  desc: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
  // `rvc import` pointers: one out and where it came from.
  import: fc.option(fc.record({
    repo: fc.constantFrom('../source', '/srv/data/repo', 'https://example.com/org/repo.git', 'git@example.com:org/repo.git', 'file:///srv/repo', 'ssh://git@example.com/repo'),
    path: REL_PATH,
    rev: fc.option(fc.constantFrom('main', 'v1.0', 'HEAD~2', 'feature/x'), { nil: undefined }),
    rev_lock: fc.oneof(fc.stringMatching(/^[0-9a-f]{40}$/), HEX),
  }).map(({ rev, ...im }) => (rev === undefined ? im : { ...im, rev })), { nil: undefined }),
}).map(({ desc, outs, import: im }) => ({
  outs: im ? outs.slice(0, 1) : outs,
  ...(desc === undefined ? {} : { desc }),
  ...(im ? { import: im } : {}),
}));

const treeArb: fc.Arbitrary<TreeEntry[]> = fc.uniqueArray(
  fc.record({ path: REL_PATH, oid: HEX, size: fc.maxSafeNat(), exec: fc.boolean() })
    .map(({ exec, ...e }) => (exec ? { ...e, exec: true } : e)),
  { maxLength: 12, selector: (e) => e.path.normalize('NFC').toLowerCase() },
).map((es) => {
  const sorted = es.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // Drop entries that would make another one's folder a file.
  const files = new Set(sorted.map((e) => e.path));
  const folded = new Set(sorted.map((e) => e.path.normalize('NFC').toLowerCase()));
  return sorted.filter((e) => {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (files.has(dir) || folded.has(dir.normalize('NFC').toLowerCase())) return false;
    }
    return true;
  });
}).filter((es) => {
  try {
    validateTreePaths(es, 't');
    return true;
  } catch {
    return false;
  }
});

const lockEntry = fc.record({ path: REL_PATH, hash: fc.constantFrom('blake3' as const, 'sha256' as const), oid: HEX, size: fc.nat() });
const lockArb: fc.Arbitrary<Lock> = fc.dictionary(
  fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}(@[a-z0-9]{1,3})?$/),
  fc.record({
    cmd: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 })),
    deps: fc.uniqueArray(lockEntry, { maxLength: 3, selector: (e) => e.path }),
    outs: fc.uniqueArray(lockEntry, { maxLength: 3, selector: (e) => e.path }),
    params: fc.dictionary(fc.constantFrom('params.yaml', 'p.json'), fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), { maxKeys: 2 }),
    env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,5}$/), fc.option(fc.string({ maxLength: 8 }), { nil: null }), { maxKeys: 2 }),
  }),
  { maxKeys: 4 },
).map((stages) => ({ schema: '1.0' as const, stages }));

const stageDefArb: fc.Arbitrary<StageDef> = fc.record({
  cmd: fc.oneof(fc.stringMatching(/^[a-z][a-z ./-]{0,20}[a-z]$/), fc.array(fc.stringMatching(/^[a-z][a-z ./-]{0,10}[a-z]$/), { minLength: 2, maxLength: 3 })),
  deps: fc.uniqueArray(fc.stringMatching(/^(src|data)\/[a-z]{1,6}(\.[a-z]{2})?$/), { maxLength: 3 }),
  outs: fc.uniqueArray(fc.stringMatching(/^out\/[a-z]{1,6}$/), { maxLength: 3 }),
  env: fc.uniqueArray(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,6}$/), { maxLength: 2 }),
  frozen: fc.boolean(),
  always_changed: fc.boolean(),
  // '${' in text starts a template; rvc.yaml spells a literal one '\${'.
  desc: fc.option(fc.string({ maxLength: 30 }).filter((s) => !s.includes('${')), { nil: undefined }),
}).map(({ desc, ...d }) => (desc === undefined ? d : { ...d, desc }));
const pipelineArb = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), stageDefArb, { minKeys: 1, maxKeys: 4 })
  .map((stages) => {
    // Different stages may not share outputs: keep each output in its first stage only.
    const taken = new Set<string>();
    for (const d of Object.values(stages)) {
      d.outs = (d.outs as string[]).filter((o) => !taken.has(o));
      for (const o of d.outs as string[]) taken.add(o);
    }
    return stages;
  });
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'pipelines');
const fixturePipelines = fs.readdirSync(FIXTURES).map((d) => fs.readFileSync(path.join(FIXTURES, d, 'rvc.yaml'), 'utf8'));
const validPipelineText = fc.oneof(fc.constantFrom(...fixturePipelines), pipelineArb.map((s) => serializePipeline(s)));

const configArb: fc.Arbitrary<ConfigLayer> = fc.array(
  fc.oneof(
    fc.tuple(fc.constant('core.hash'), fc.constantFrom('blake3', 'sha256')),
    fc.tuple(fc.constant('core.remote'), fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/)),
    fc.tuple(fc.constant('core.no_scm'), fc.constantFrom('true', 'false')),
    fc.tuple(fc.constant('cache.type'), fc.constantFrom('reflink,copy', 'hardlink', 'symlink,copy', 'copy')),
    fc.tuple(fc.constant('cache.jobs'), fc.integer({ min: 1, max: 64 }).map(String)),
    fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/).map((n) => `remote.${n}.url`), fc.constantFrom('s3://b/p', '/tmp/store', 'gs://b', 'file:///x')),
    fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/).map((n) => `remote.${n}.readtimeout`), fc.integer({ min: 1, max: 600 }).map(String)),
  ),
  { maxLength: 6 },
).map((sets) => sets.reduce<ConfigLayer>((l, [k, v]) => setConfigKey(l, k, v, 'c', { allowSecrets: false }), {}));

const paramsArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });

// ---------------------------------------------------------------------------------------------
// targets

const TARGETS = {
  pointer: { name: 'pointer', file: 'data/images.rvc', parse: (t: string) => parsePointer(t, 'data/images.rvc'), lines: true },
  tree: { name: 'tree manifest', file: 'blake3/ab/cd.tree', parse: (t: string) => parseTree(t, 'blake3', 'blake3/ab/cd.tree'), lines: true },
  lock: { name: 'rvc.lock', file: 'rvc.lock', parse: (t: string) => parseLock(t, 'rvc.lock'), lines: true },
  pipeline: {
    name: 'rvc.yaml', file: 'sub/rvc.yaml', lines: true,
    parse: (t: string) => parsePipeline(t, 'sub/rvc.yaml', { loadVarsFile: (p) => (p === 'sub/params.yaml' ? { lr: 0.1, models: ['a', 'b'] } : undefined) }),
  },
  config: { name: 'config', file: '.rvc/config.yaml', parse: (t: string) => parseConfigLayer(t, '.rvc/config.yaml', { allowSecrets: false }), lines: true },
  configLocal: { name: 'config', file: '.rvc/config.local.yaml', parse: (t: string) => parseConfigLayer(t, '.rvc/config.local.yaml', { allowSecrets: true }), lines: true },
  paramsYaml: { name: 'params', file: 'params.yaml', parse: (t: string) => parseParamsFile(t, 'params.yaml'), lines: true },
  paramsJson: { name: 'params', file: 'conf/params.json', parse: (t: string) => parseParamsFile(t, 'conf/params.json'), lines: true },
  paramsToml: { name: 'params', file: 'conf/params.toml', parse: (t: string) => parseParamsFile(t, 'conf/params.toml'), lines: true },
  paramsPy: { name: 'params', file: 'src/params.py', parse: (t: string) => parseParamsFile(t, 'src/params.py'), lines: true },
  // rvc's own CSV reader (JSON and YAML plot files go through the parsers above).
  plotCsv: { name: 'plot data', file: 'logs/loss.csv', parse: (t: string) => parsePlotTable(t, 'logs/loss.csv'), lines: false },
} satisfies Record<string, Target>;

const validText: Record<keyof typeof TARGETS, fc.Arbitrary<string>> = {
  pointer: pointerArb.map(serializePointer),
  tree: treeArb.map(serializeTree),
  lock: lockArb.map(serializeLock),
  pipeline: validPipelineText,
  config: configArb.map(serializeConfigLayer),
  configLocal: configArb.map(serializeConfigLayer),
  paramsYaml: paramsArb.map((p) => toYaml(p)),
  paramsJson: paramsArb.map((p) => JSON.stringify(p, null, 2)),
  // TOML has no null: those documents fall back to a fixed one.
  paramsToml: paramsArb.map((p) => { try { return toToml(p); } catch { return 'a = 1\n[t]\nb = "x"\n'; } }),
  plotCsv: fc.array(fc.tuple(fc.integer(), fc.double({ noNaN: true }), fc.string({ maxLength: 8 })), { maxLength: 30 })
    .map((rows) => ['step,loss,"note, quoted"', ...rows.map(([a, b, c]) => `${a},${b},"${c.replace(/"/g, '""')}"`)].join('\n')),
  paramsPy: paramsArb.map((p) => Object.entries(p).map(([k, v], i) => `${/^[A-Za-z_]\w*$/.test(k) ? k : `K${i}`} = ${pyLiteral(v)}`).join('\n')),
};

/** A JSON value written as a Python literal. */
function pyLiteral(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(v as object).map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`).join(',\n  ')}}`;
}


describe.each(Object.entries(TARGETS) as [keyof typeof TARGETS, Target][])('fuzzing %s', (key, target) => {
  it('arbitrary text and bytes: a value or a located RvcError, fast', () => {
    fc.assert(fc.property(anyText, (text) => {
      check(target, text);
    }), { numRuns: runs(300), seed: 1 });
  });

  it('mutations of valid documents: a value or a located RvcError, fast', () => {
    fc.assert(fc.property(mutated(validText[key]), (text) => {
      check(target, text);
    }), { numRuns: runs(key === 'pipeline' ? 300 : 500), seed: 2 });
  });

  it('whole-document attacks (deep nesting, alias bombs, huge lines) are refused or parsed quickly', () => {
    for (const text of key === 'tree' ? [...YAML_ATTACKS, ...TREE_ATTACKS] : YAML_ATTACKS) check(target, text);
    // The process is still healthy after a parse that hit a limit.
    expect(() => check(target, deepFlow(50_000))).not.toThrow();
    check(target, deepFlow(5000));
  });
});

const TREE_ATTACKS = [
  `{"path":"a","oid":"${'a'.repeat(64)}","size":1e400}\n`,
  `{"path":"a","oid":"${'a'.repeat(64)}","size":12345678901234567890}\n`,
  `{"path":"a","oid":"${'a'.repeat(64)}","size":1,"size":2}\n`,
  `{"__proto__":{"x":1},"path":"a","oid":"${'a'.repeat(64)}","size":1}\n`,
  `${'{"path":"a","oid":"x","size":1}'.repeat(1)}\n`,
  `[${'['.repeat(50_000)}\n`,
  `{"path":"${'a/'.repeat(3000)}b","oid":"${'a'.repeat(64)}","size":1}\n`,
  `{"path":"a\\u0000b","oid":"${'a'.repeat(64)}","size":1}\n`,
  `{"path":"\\ud800","oid":"${'a'.repeat(64)}","size":1}\n`,
  Array.from({ length: 50_000 }, (_, i) => `{"path":"f${String(i).padStart(6, '0')}","oid":"${'a'.repeat(64)}","size":1}`).join('\n') + '\n',
];

/**
 * A component naming `.git` or `.rvc` on some filesystem: either name or an NTFS short name, in
 * any letter case, with code points HFS+ ignores slipped in, trailing dots and spaces, and an
 * NTFS alternate-stream suffix.
 */
const RESERVED_SEG = fc.record({
  base: fc.constantFrom('.git', '.rvc', 'git~1', 'rvc~1', 'GIT~2', 'rvc~9'),
  upper: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  ignorable: fc.array(fc.tuple(fc.nat(5), fc.constantFrom('\u200c', '\u200d', '\u200e', '\u200f', '\u202a', '\u202e', '\u206a', '\u206f', '\ufeff')), { maxLength: 2 }),
  trailing: fc.stringMatching(/^[. ]{0,3}$/),
  stream: fc.constantFrom('', '', '::$INDEX_ALLOCATION', ':$DATA', ':x'),
}).map(({ base, upper, ignorable, trailing, stream }) => {
  let s = [...base].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
  for (const [at, ch] of ignorable) s = s.slice(0, at) + ch + s.slice(at);
  return s + trailing + stream;
});
const RESERVED_PATH = fc.tuple(fc.array(SEG, { maxLength: 2 }), RESERVED_SEG, fc.array(SEG, { maxLength: 2 }))
  .map(([before, seg, after]) => [...before, seg, ...after].join('/'));

describe('.git and .rvc components in every spelling', () => {
  const refused = (t: Target, text: string): void => {
    const v = check(t, text);
    expect(v, text).toBeInstanceOf(RvcError);
    expect((v as RvcError).code, (v as RvcError).message).toBe('PATH_UNSAFE');
  };
  const oid = 'a'.repeat(64);

  it('are refused in pointers, manifests, rvc.lock and rvc.yaml (deps, outs, wdir)', () => {
    fc.assert(fc.property(RESERVED_PATH, fc.nat(2), (p, where) => {
      expect(reservedNameOf(p.split('/').find((x) => reservedNameOf(x))!)).toBeDefined();
      refused(TARGETS.pointer, serializePointer({ outs: [{ path: p, hash: 'blake3', oid, size: 1 }] }));
      refused(TARGETS.tree, serializeTree([{ path: p, oid, size: 1 }]));
      const entry = { path: p, hash: 'blake3' as const, oid, size: 1 };
      refused(TARGETS.lock, serializeLock({ schema: '1.0', stages: { s: { cmd: 'c', deps: where ? [entry] : [], outs: where ? [] : [entry], params: {}, env: {} } } }));
      const def: StageDef = where === 0 ? { cmd: 'c', outs: [p] } : where === 1 ? { cmd: 'c', deps: [p] } : { cmd: 'c', wdir: p };
      refused(TARGETS.pipeline, serializePipeline({ s: def }));
    }), { numRuns: runs(300), seed: 3 });
  });
});

describe('valid documents round-trip', () => {
  it('pointer', () => {
    fc.assert(fc.property(pointerArb, (p) => {
      expect(check(TARGETS.pointer, serializePointer(p))).toEqual(p);
    }), { numRuns: runs(300) });
  });

  it('tree manifest', () => {
    fc.assert(fc.property(treeArb, (es) => {
      const text = serializeTree(es);
      const back = check(TARGETS.tree, text) as TreeEntry[];
      expect(back).toEqual(es);
      expect(serializeTree(back)).toBe(text);
    }), { numRuns: runs(300) });
  });

  // rvc.lock's round-trip and canonical-order properties live in lock.test.ts.

  it('rvc.yaml', () => {
    fc.assert(fc.property(pipelineArb, (stages) => {
      const text = serializePipeline(stages);
      const p = check(TARGETS.pipeline, text) as ReturnType<typeof parsePipeline>;
      expect(p.stages.map((s) => s.local)).toEqual(Object.keys(stages));
      expect(p.stages.map((s) => s.name)).toEqual(Object.keys(stages).map((n) => `sub/rvc.yaml:${n}`));
      expect(p.stages.map((s) => s.cmd)).toEqual(Object.values(stages).map((d) => (typeof d.cmd === 'string' ? [d.cmd] : d.cmd)));
      expect(p.stages.map((s) => s.outs.map((o) => o.path))).toEqual(Object.values(stages).map((d) => d.outs ?? []));
      // Parsing canonicalises (env names are sorted); after that, writing and reading is stable.
      const canonical = serializePipeline(p.stages);
      const p2 = check(TARGETS.pipeline, canonical) as ReturnType<typeof parsePipeline>;
      expect(serializePipeline(p2.stages)).toBe(canonical);
    }), { numRuns: runs(200) });
  });

  it('config', () => {
    fc.assert(fc.property(configArb, (l) => {
      const text = serializeConfigLayer(l);
      const back = check(TARGETS.config, text) as ConfigLayer;
      expect(serializeConfigLayer(back)).toBe(text);
    }), { numRuns: runs(300) });
  });

  it('params (YAML and JSON)', () => {
    fc.assert(fc.property(paramsArb, (p) => {
      const fromYaml = check(TARGETS.paramsYaml, toYaml(p));
      const fromJson = check(TARGETS.paramsJson, JSON.stringify(p));
      expect(deepEqual(fromJson, JSON.parse(JSON.stringify(p)))).toBe(true);
      expect(deepEqual(fromYaml, JSON.parse(JSON.stringify(p)))).toBe(true);
    }), { numRuns: runs(300) });
  });
});

describe('fuzzing .rvcignore', () => {
  it('any content loads; matching any repository path never throws and is stable', () => {
    const root = tmpDir();
    try {
      const ruleLines = fc.array(fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: fc.constantFrom(...'*?[]!/\\#. a-z\u00e9'), maxLength: 30 }),
        fc.constantFrom('**', '**/', '/**', '!', '\\!x', '[z-a]', '[', '[!]', '\\', '#x', ' ', '*'.repeat(500), '**/'.repeat(200) + 'x', 'a/**/b/**/c'),
      ), { maxLength: 12 });
      const relPath = fc.array(fc.oneof(SEG, UNICODE_SEG, fc.constantFrom('a', 'x', '.hidden')), { minLength: 1, maxLength: 40 }).map((s) => s.join('/'));
      fc.assert(fc.property(ruleLines, fc.array(fc.tuple(relPath, fc.boolean()), { minLength: 1, maxLength: 8 }), (rules, paths) => {
        fs.writeFileSync(path.join(root, '.rvcignore'), rules.join('\n'));
        const target: Target = {
          name: '.rvcignore', file: '.rvcignore', lines: true,
          parse: () => {
            const ig = new IgnoreRules(root);
            ig.loadAncestors('');
            return paths.map(([p, d]) => {
              const a = ig.ignores(p, d);
              if (ig.ignores(p, d) !== a) throw new Error('unstable match');
              return a;
            });
          },
        };
        check(target, rules.join('\n'));
      }), { numRuns: runs(600), seed: 3 });
    } finally {
      rmrf(root);
    }
  });
});

/**
 * Loads the hash state of output `data` in `dir`, asks it for each probe (it must serve no oid
 * that is not 64 hex digits), records one new file and saves with pruning.
 */
function probeState(dir: string, probes: [string, number, number, number][]): HashState {
  const s = HashState.load(dir, 'blake3', 'data');
  for (const [p, ino, mtimeMs, size] of probes) {
    const oid = s.get(p, { ino, mtimeMs, size, mode: 0o644 });
    if (oid !== undefined && !/^[0-9a-f]{64}$/.test(oid)) throw new Error(`state served a malformed oid ${oid}`);
  }
  s.set('new', { ino: 1, mtimeMs: 1, size: 1, mode: 0o644 }, 'b'.repeat(64), Date.now());
  s.save({ prune: true });
  return s;
}

describe('fuzzing the hash-state file', () => {
  it('any content is either used or ignored; a lookup never throws and only returns a well-formed oid', () => {
    const dir = tmpDir();
    try {
      const file = HashState.fileFor(dir, 'blake3', 'data');
      const valid = fc.record({
        paths: fc.uniqueArray(REL_PATH, { maxLength: 5 }),
        n: fc.array(fc.maxSafeNat(), { minLength: 20, maxLength: 20 }),
      }).map(({ paths, n }) => JSON.stringify({
        v: 2, algo: 'blake3', paths: paths.join('\0'),
        ino: paths.map((_, i) => n[i]!), mtime: paths.map((_, i) => n[i + 5]!), size: paths.map((_, i) => n[i + 10]!),
        oids: paths.map(() => 'a'.repeat(64)).join(''), at: paths.map((_, i) => n[i + 15]!),
      }));
      const attacks = fc.constantFrom(
        '{"v":2,"algo":"blake3","paths":"a","ino":[1],"mtime":[1],"size":[1],"oids":"' + 'g'.repeat(64) + '","at":[9e15]}',
        '{"v":2,"algo":"blake3","paths":"a","ino":["1"],"mtime":[null],"size":[{}],"oids":"' + 'a'.repeat(64) + '","at":["x"]}',
        '{"v":2,"algo":"blake3","paths":"a\\u0000b","ino":[1],"mtime":[1],"size":[1],"oids":"' + 'a'.repeat(64) + '","at":[1]}',
        '{"__proto__":{"v":2}}', 'null', '[]', '"x"', '1e400', deepFlow(100_000),
      );
      // The JSON form of rvc before format v3, still read from its own file name.
      const legacy = file.replace(/\.state$/, '.json');
      fc.assert(fc.property(fc.oneof(anyText, mutated(valid), attacks), fc.array(fc.tuple(REL_PATH, fc.nat(), fc.nat(), fc.nat()), { maxLength: 4 }), (text, probes) => {
        fs.rmSync(file, { force: true });
        fs.writeFileSync(legacy, text);
        const target: Target = {
          name: 'hash-state', file, lines: false,
          parse: () => probeState(dir, probes),
        };
        const r = check(target, text);
        // The state file is a cache: a damaged one is ignored, never an error.
        expect(r).not.toBeInstanceOf(RvcError);
      }), { numRuns: runs(300), seed: 4 });
    } finally {
      rmrf(dir);
    }
  });

  it('a v3 file with any bytes changed, cut short or extended is used or ignored; a lookup never throws and only returns a well-formed oid', () => {
    const dir = tmpDir();
    try {
      const file = HashState.fileFor(dir, 'blake3', 'data');
      // Sound files, as rvc writes them, of up to five rows.
      const valid = fc.record({
        rows: fc.uniqueArray(fc.tuple(REL_PATH, fc.maxSafeNat(), fc.maxSafeNat(), fc.maxSafeNat(), fc.constantFrom('a', 'b', '0', '9')), { maxLength: 5, selector: (r) => r[0] }),
      }).map(({ rows }) => {
        fs.rmSync(file, { force: true });
        const s = HashState.load(dir, 'blake3', 'data');
        for (const [p, ino, mtimeMs, size, d] of [...rows].sort((a, b) => (a[0] < b[0] ? -1 : 1))) s.set(p, { ino, mtimeMs, size, mode: 0o644 }, d.repeat(64), 9e15);
        s.save();
        return fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
      });
      const edit = fc.oneof(
        fc.tuple(fc.constant('set' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
        fc.tuple(fc.constant('cut' as const), fc.nat(), fc.constant(0)),
        fc.tuple(fc.constant('add' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
      );
      const damaged = fc.tuple(valid, fc.array(edit, { maxLength: 3 })).map(([bytes, edits]) => {
        let b = Buffer.from(bytes);
        for (const [op, at, v] of edits) {
          const i = b.length ? at % b.length : 0;
          if (op === 'set' && b.length) b[i] = v;
          else if (op === 'cut') b = b.subarray(0, i);
          else b = Buffer.concat([b.subarray(0, i), Buffer.from([v]), b.subarray(i)]);
        }
        return b;
      });
      fc.assert(fc.property(damaged, fc.array(fc.tuple(REL_PATH, fc.nat(), fc.nat(), fc.nat()), { maxLength: 4 }), (bytes, probes) => {
        fs.writeFileSync(file, bytes);
        probeState(dir, probes);
        // Whatever was read, what was saved after it reads back.
        expect(HashState.load(dir, 'blake3', 'data').get('new', { ino: 1, mtimeMs: 1, size: 1, mode: 0o644 })).toBe('b'.repeat(64));
      }), { numRuns: runs(300), seed: 5 });
    } finally {
      rmrf(dir);
    }
  });
});
