import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { hookScript, mergeDriverCommand, shQuote, HOOK_MARKER } from '../../src/verbs/install.js';
import { rmrf, tmpDir } from '../helpers/cli.js';

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

describe('hook scripts', () => {
  it('quote awkward paths and pass git\'s arguments through unchanged', () => {
    const dir = tmpDir("rvc hook 'quoted' $x ");
    made.push(dir);
    const cli = path.join(dir, "fake cli's.mjs");
    fs.writeFileSync(cli, 'console.log(JSON.stringify({ cwd: process.cwd(), args: process.argv.slice(2) }));\n');
    const hook = path.join(dir, 'post-checkout');
    const text = hookScript('post-checkout', { node: process.execPath, script: cli }, "sub dir/it's/");
    expect(text.split('\n')[1]).toBe(HOOK_MARKER);
    fs.writeFileSync(hook, text, { mode: 0o755 });
    const r = spawnSync(hook, ['0000 a', 'b"c', '1'], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).args).toEqual(['git-hook', 'post-checkout', '--dir', "sub dir/it's/", '--', '0000 a', 'b"c', '1']);
  });

  it('without rvc anywhere: pre-push refuses, the others only warn', () => {
    const dir = tmpDir();
    made.push(dir);
    for (const [name, code] of [['pre-push', 1], ['post-merge', 0]] as const) {
      const hook = path.join(dir, name);
      fs.writeFileSync(hook, hookScript(name, { node: '/nonexistent/node', script: '/nonexistent/rvc.js' }, ''), { mode: 0o755 });
      const r = spawnSync(hook, [], { cwd: dir, encoding: 'utf8', env: { PATH: '/nonexistent' } });
      expect(r.status, name).toBe(code);
      expect(r.stderr).toContain('rvc was not found');
    }
  });

  it('quote for sh, and name the recorded rvc in the merge driver', () => {
    expect(shQuote("a'b c")).toBe(`'a'\\''b c'`);
    expect(mergeDriverCommand(undefined)).toBe('rvc merge-driver %O %A %B %P');
    expect(mergeDriverCommand({ node: '/n', script: '/s' })).toBe("if [ -f '/s' ]; then '/n' '/s' merge-driver %O %A %B %P; else rvc merge-driver %O %A %B %P; fi");
  });
});
