import { spawnSync } from 'node:child_process';
import { describe, it, expect } from 'vitest';
import { parseYaml, toYaml, guardYamlOutput, MAX_YAML_DEPTH, MAX_YAML_BYTES } from '../../src/model/yaml.js';
import { parsePointer } from '../../src/model/pointer.js';
import { parseLock, serializeLock, type Lock } from '../../src/model/lock.js';
import { parseConfigLayer } from '../../src/model/config.js';
import { rvcError } from '../helpers/errors.js';

// The subprocess test loads the built library (dist/): run `npm run build` first.

describe('YAML limits (regressions found by fuzzing)', () => {
  it('refuses nesting deeper than the limit with the line, and accepts the limit itself', () => {
    const ok = `${'['.repeat(MAX_YAML_DEPTH)}${']'.repeat(MAX_YAML_DEPTH)}`;
    expect(parseYaml(ok, 'f').value).toBeInstanceOf(Array);
    const e = rvcError(() => parseYaml(`a: 1\nb: ${'['.repeat(MAX_YAML_DEPTH + 1)}${']'.repeat(MAX_YAML_DEPTH + 1)}\n`, 'f.yaml'));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^f\.yaml:2: YAML nested more than/);
    const block = Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n';
    expect(rvcError(() => parseYaml(block, 'g')).line).toBe(MAX_YAML_DEPTH + 1);
  });

  it('two deeply nested files in one process: each is refused, the process survives', () => {
    // Input that broke it: '['×100000 then '['×5000 parsed in the same process; the first blew
    // the stack inside the YAML composer and the second aborted node with a fatal
    // "RegExpCompiler Allocation failed - process out of memory".
    const lockJs = new URL('../../dist/model/lock.js', import.meta.url).href;
    const script = `
      import { parseLock } from '${lockJs}';
      for (const n of [100000, 5000, 1000]) {
        try { parseLock('['.repeat(n) + ']'.repeat(n), 'rvc.lock'); } catch (e) { console.log(e.code); }
      }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).not.toMatch(/FATAL|out of memory/);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['YAML_INVALID', 'YAML_INVALID', 'YAML_INVALID']);
  });

  it('a mapping with 100,000 keys parses (duplicate check is linear)', () => {
    // Input that broke it: 'k0: 0\nk1: 1\n…' with 20,000 keys took 6–15 s (the library's
    // uniqueKeys compares each key with every earlier one). At 100,000 keys a quadratic check
    // would run for minutes, far past the test's timeout; a linear one takes seconds.
    // (No stopwatch here: a busy machine must not fail a correct parser.)
    const n = 100_000;
    const text = Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n') + '\n';
    expect(Object.keys(parseYaml(text, 'f').value as object)).toHaveLength(n);
    const dup = rvcError(() => parseYaml(`${text}k7: again\n`, 'f'));
    expect(dup.line).toBe(n + 1);
    expect(dup.message).toMatch(/duplicate key 'k7'/);
    // Keys that become the same property are duplicates too; alias keys are refused.
    expect(rvcError(() => parseYaml('1: a\n"1": b\n', 'f')).line).toBe(2);
    expect(rvcError(() => parseYaml('a: &x k\n*x : b\n', 'f')).line).toBe(2);
  });

  it('alias errors give the line of the alias', () => {
    // Input that broke it: '*>' (an undefined alias) gave an error without a line.
    const e = rvcError(() => parseLock('schema: "1.0"\nstages: *nope\n', 'rvc.lock'));
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^rvc\.lock:2: YAML could not be expanded/);
    let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 12; i++) bomb += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const b = rvcError(() => parsePointer(`${bomb}outs: *a11\n`, 'x.rvc'));
    expect(b.code).toBe('POINTER_INVALID');
    expect(b.line).toBeGreaterThan(1);
    expect(b.message).toContain(`x.rvc:${b.line}:`);
  });

  it('every error names the line (inputs the fuzzer found without one)', () => {
    const cases: [() => unknown, string, number][] = [
      [() => parsePointer('', 'p.rvc'), 'p.rvc', 1],
      [() => parseLock(`schema: "1.0"\nstages:\n  a:\n    cmd: x\n    outs:\n      - path: "0"\n`, 'rvc.lock'), 'rvc.lock', 6],
      [() => parseConfigLayer('.', 'c.yaml', { allowSecrets: false }), 'c.yaml', 1],
      [() => parseConfigLayer('core:\n  hash: blake3\ncache:\n  jobs: many\n', 'c.yaml', { allowSecrets: false }), 'c.yaml', 4],
      [() => parseConfigLayer('remote:\n  s:\n    url: s3://b\n    secret_access_key: x\n', 'c.yaml', { allowSecrets: false }), 'c.yaml', 4],
    ];
    for (const [fn, file, line] of cases) {
      const e = rvcError(fn);
      expect(e.line, e.message).toBe(line);
      expect(e.message).toContain(`${file}:${line}`);
    }
  });
});

describe('writing: rvc never writes YAML its own reader refuses', () => {
  it('serialising a lock, pointer or config nested past the limit or over the size cap is refused, naming the file', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_YAML_DEPTH; i++) deep = { k: deep };
    const lock = { schema: '1.0', stages: { s: { cmd: 'x', deps: [], params: { 'p.yaml': { deep } }, env: {}, outs: [] } } } as unknown as Lock;
    const e = rvcError(() => serializeLock(lock));
    expect(e.code).toBe('YAML_INVALID');
    expect(e.path).toBe('rvc.lock');
    expect(e.message).toMatch(/more than 100 levels/);
    expect(e.hint).toMatch(/params/);
    // One level less reads back.
    let ok: unknown = 1;
    for (let i = 0; i < MAX_YAML_DEPTH - 6; i++) ok = { k: ok };
    const text = serializeLock({ schema: '1.0', stages: { s: { cmd: 'x', deps: [], params: { 'p.yaml': { ok } }, env: {}, outs: [] } } } as unknown as Lock);
    expect(() => parseLock(text, 'rvc.lock')).not.toThrow();
    const big = rvcError(() => toYaml({ desc: 'x'.repeat(MAX_YAML_BYTES) }, 'data.rvc'));
    expect(big.code).toBe('YAML_INVALID');
    expect(big.message).toMatch(/^refusing to write data\.rvc: it would be \d+ bytes/);
    expect(() => guardYamlOutput('a: 1\n', 'f')).not.toThrow();
  });
});
