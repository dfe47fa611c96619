import { describe, expect, it } from 'vitest';
import { rvcError } from '../helpers/errors.js';
import { parseLock, serializeLock, type Lock } from '../../src/model/lock.js';
import { isStrictKey, mergeEnvironmentSpecs, parsePipeline } from '../../src/model/pipeline.js';

/** The environment block of rvc.lock and the `environment:` section of pipeline files. */

const H = 'a'.repeat(64);

describe('rvc.lock environment block', () => {
  it('round-trips canonically (sorted keys at every level) and stays optional', () => {
    const lock: Lock = {
      schema: '1.0',
      stages: {
        train: {
          cmd: 'python train.py', deps: [], params: {}, env: {},
          outs: [{ path: 'model.pkl', hash: 'blake3', oid: H, size: 3 }],
          environment: { tools: { python: 'Python 3.11.7', node: 'v20' }, cpu: { cores: 8, model: 'x' }, probes: { torch: { error: 'exit 1' } } },
        },
        other: { cmd: 'true', deps: [], params: {}, env: {}, outs: [] },
      },
    };
    const text = serializeLock(lock);
    expect(text.indexOf('cores')).toBeLessThan(text.indexOf('model: x'));
    expect(text.indexOf('node: v20')).toBeLessThan(text.indexOf('python: Python'));
    const back = parseLock(text, 'rvc.lock');
    expect(back.stages['train']!.environment).toEqual(lock.stages['train']!.environment);
    expect(back.stages['other']!.environment).toBeUndefined();
    expect(serializeLock(back)).toBe(text);
  });

  it('refuses an environment that is not a bounded mapping of plain data', () => {
    const stage = (env: string) => `schema: "1.0"\nstages:\n  s:\n    cmd: x\n    environment: ${env}\n`;
    expect(rvcError(() => parseLock(stage('[1, 2]'), 'rvc.lock')).message).toMatch(/'environment' must be a mapping/);
    expect(rvcError(() => parseLock(stage(`{a: ${'['.repeat(12)}1${']'.repeat(12)}}`), 'rvc.lock')).message).toMatch(/nested deeper/);
    expect(rvcError(() => parseLock(stage(`{a: "${'x'.repeat(70_000)}"}`), 'rvc.lock')).message).toMatch(/larger than/);
  });
});

describe('environment: section', () => {
  const yaml = (env: string) => `stages:\n  s:\n    cmd: x\nenvironment:\n${env}`;

  it('parses probes (run in the file folder), files (relative to it), strict and timeout', () => {
    const p = parsePipeline(yaml('  commands:\n    torch: python -c "import torch"\n  files: [../conda.yml, req.txt]\n  strict: [probes.torch]\n  timeout: 5\n'), 'sub/rvc.yaml');
    expect(p.environment).toEqual({
      commands: { torch: { cmd: 'python -c "import torch"', wdir: 'sub' } },
      files: ['conda.yml', 'sub/req.txt'], strict: ['probes.torch'], timeout: 5,
    });
    expect(parsePipeline('stages: {}\n', 'rvc.yaml').environment).toBeUndefined();
  });

  it('refuses unknown fields, bad strict values, bad timeouts and paths outside the repository', () => {
    expect(rvcError(() => parsePipeline(yaml('  comands: {}\n'), 'rvc.yaml')).message).toMatch(/unknown field 'comands'/);
    expect(rvcError(() => parsePipeline(yaml('  strict: yes please\n'), 'rvc.yaml')).message).toMatch(/'strict' must be/);
    expect(rvcError(() => parsePipeline(yaml('  timeout: 0\n'), 'rvc.yaml')).message).toMatch(/'timeout' must be/);
    expect(rvcError(() => parsePipeline(yaml('  files: [../x]\n'), 'rvc.yaml')).code).toBe('PATH_UNSAFE');
    expect(rvcError(() => parsePipeline(yaml('  commands: {a: 3}\n'), 'rvc.yaml')).message).toMatch(/must be a shell command/);
  });

  it('several files combine: probes and files joined, strict when any is, the longest timeout; one name, one command', () => {
    const a = parsePipeline(yaml('  commands: {t: cat v}\n  strict: [cpu.cores]\n'), 'rvc.yaml').environment!;
    const b = parsePipeline(yaml('  commands: {u: cat w}\n  files: [f]\n  strict: [probes.u]\n  timeout: 4\n'), 'b/rvc.yaml').environment!;
    expect(mergeEnvironmentSpecs([{ file: 'rvc.yaml', spec: a }, { file: 'b/rvc.yaml', spec: b }])).toEqual({
      commands: { t: { cmd: 'cat v', wdir: '.' }, u: { cmd: 'cat w', wdir: 'b' } },
      files: ['b/f'], strict: ['cpu.cores', 'probes.u'], timeout: 4,
    });
    const all = parsePipeline(yaml('  strict: true\n'), 'c/rvc.yaml').environment!;
    expect(mergeEnvironmentSpecs([{ file: 'rvc.yaml', spec: a }, { file: 'c/rvc.yaml', spec: all }])!.strict).toBe(true);
    const clash = parsePipeline(yaml('  commands: {t: cat other}\n'), 'd/rvc.yaml').environment!;
    expect(rvcError(() => mergeEnvironmentSpecs([{ file: 'rvc.yaml', spec: a }, { file: 'd/rvc.yaml', spec: clash }])).message)
      .toMatch(/probe 't' is also defined, differently, in rvc.yaml/);
    expect(mergeEnvironmentSpecs([])).toBeUndefined();
  });

  it('a strict key covers the values below it', () => {
    expect(isStrictKey('probes.torch', ['probes'])).toBe(true);
    expect(isStrictKey('probes.torchvision', ['probes.torch'])).toBe(false);
    expect(isStrictKey('cpu.cores', true)).toBe(true);
    expect(isStrictKey('cpu.cores', false)).toBe(false);
  });
});

describe('python behind a pyenv shim', () => {
  it('finds the interpreter the shim would run, the way pyenv chooses it, and leaves anything else to the shim', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { pastPyenvShim } = await import('../../src/pipeline/environment.js');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-pyenv-'));
    try {
      const shim = path.join(root, 'shims', 'python3');
      fs.mkdirSync(path.dirname(shim), { recursive: true });
      fs.writeFileSync(shim, `#!/usr/bin/env bash\nset -e\nexport PYENV_ROOT="${root}"\nexec "${root}/libexec/pyenv" exec "$program" "$@"\n`, { mode: 0o755 });
      for (const v of ['3.9.1', '3.12.0']) {
        fs.mkdirSync(path.join(root, 'versions', v, 'bin'), { recursive: true });
        fs.writeFileSync(path.join(root, 'versions', v, 'bin', 'python3'), '', { mode: 0o755 });
      }
      const project = path.join(root, 'work', 'project');
      fs.mkdirSync(path.join(project, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(root, 'version'), '3.12.0\n');
      const bin = (v: string) => path.join(root, 'versions', v, 'bin', 'python3');
      // The global version file, then the nearest .python-version up from the folder, then PYENV_VERSION.
      expect(pastPyenvShim(shim, path.join(project, 'sub'), {})).toBe(bin('3.12.0'));
      fs.writeFileSync(path.join(root, 'work', '.python-version'), '# pinned\n3.9.1\n');
      expect(pastPyenvShim(shim, path.join(project, 'sub'), {})).toBe(bin('3.9.1'));
      expect(pastPyenvShim(shim, path.join(project, 'sub'), { PYENV_VERSION: '3.12.0:3.9.1' })).toBe(bin('3.12.0'));
      // `system`, a version not installed, or a file that is not a shim: the shim runs.
      expect(pastPyenvShim(shim, project, { PYENV_VERSION: 'system' })).toBeUndefined();
      expect(pastPyenvShim(shim, project, { PYENV_VERSION: '3.8.0' })).toBeUndefined();
      expect(pastPyenvShim(bin('3.9.1'), project, {})).toBeUndefined();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
