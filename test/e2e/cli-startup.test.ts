import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, RVC_BIN, makeRepo, rmrf, rvcAsyncOk, rvcOk, tmpDir } from '../helpers/cli.js';
import { startS3Server, S3RVER_KEY } from '../helpers/s3-server.js';

/**
 * What a run of `rvc` loads before it does anything: every process pays for it, so `--help`,
 * `--version` and usage errors load only the command definitions (no library, no action module,
 * no package but commander), and a command loads its own action module and no other's. The
 * modules are recorded by a module loader hook (imports) and, at exit, from require's cache
 * (packages loaded with require, such as the S3 SDK), so the check counts modules, not
 * milliseconds.
 */

let dir: string;
let repo: string;
let hook: string;

beforeAll(() => {
  dir = tmpDir('rvc-startup-');
  repo = makeRepo();
  // Records the URL of every module loaded through import (the entry of a CommonJS package too).
  fs.writeFileSync(path.join(dir, 'hooks.mjs'), `import fs from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  fs.appendFileSync(log, url + '\\n');
  return next(url, context);
}
`);
  hook = path.join(dir, 'register.mjs');
  fs.writeFileSync(hook, `import { register, createRequire } from 'node:module';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)}, { data: { log: process.env.RVC_TEST_MODULE_LOG } });
// Modules loaded with require do not pass through the hook: they are read from require's cache,
// which all of the process's require functions share, when it exits.
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const urls = Object.keys(cache).map((f) => pathToFileURL(f).href);
  if (urls.length) fs.appendFileSync(process.env.RVC_TEST_MODULE_LOG, urls.join('\\n') + '\\n');
});
`);
});

afterAll(() => {
  rmrf(dir);
  rmrf(repo);
});

let runs = 0;
/** The modules `rvc args` loaded: files of dist/ relative to it, and the packages of node_modules. */
function loaded(cwd: string, args: string[], env: Record<string, string> = {}): { code: number; dist: string[]; packages: string[] } {
  const log = path.join(dir, `modules-${runs++}.log`);
  const r = spawnSync(process.execPath, ['--import', hook, RVC_BIN, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, ...env, NO_COLOR: '1', RVC_TEST_MODULE_LOG: log }, timeout: 60_000, killSignal: 'SIGKILL',
  });
  const urls = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const distUrl = pathToFileURL(path.join(ROOT, 'dist')).href + '/';
  const dist = urls.filter((u) => u.startsWith(distUrl)).map((u) => u.slice(distUrl.length));
  const packages = [...new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []))];
  return { code: r.status ?? -1, dist, packages };
}

describe('start-up', () => {
  it('--help, --version and a usage error load the command definitions only', () => {
    for (const args of [['--help'], ['--version'], ['push', '--no-such-flag']]) {
      const r = loaded(repo, args);
      expect(r.code, args.join(' ')).toBe(args[0] === 'push' ? 2 : 0);
      expect(r.dist.filter((f) => !f.startsWith('cli/') || f.startsWith('cli/actions/')), args.join(' ')).toEqual([]);
      expect(r.dist, args.join(' ')).toContain('cli/commands/status.js');
      expect(r.packages, args.join(' ')).toEqual(['commander']);
    }
  });

  it('a command loads its own action module and no other command\'s', () => {
    const v = loaded(repo, ['version']);
    expect(v.code).toBe(0);
    expect(v.dist.filter((f) => f.startsWith('cli/actions/'))).toEqual(['cli/actions/version.js']);
    const s = loaded(repo, ['status']);
    expect(s.code).toBe(0);
    // status shows stale stages with repro's wording, so it loads that renderer too.
    expect(s.dist.filter((f) => f.startsWith('cli/actions/')).sort()).toEqual(['cli/actions/repro.js', 'cli/actions/status.js']);
    // Of the verbs, only its own and the synchronous ones the public API loads eagerly; in a
    // repository without rvc.yaml, no pipeline code.
    expect(s.dist.filter((f) => f.startsWith('verbs/')).sort()).toEqual(['verbs/config.js', 'verbs/init.js', 'verbs/status.js', 'verbs/version.js']);
    expect(s.dist.filter((f) => f.startsWith('pipeline/'))).toEqual([]);
  });

  it('a fetch loads the SDK of its remote only, and from S3 not the multipart upload helper', async () => {
    const s3 = await startS3Server({ buckets: ['rvc-startup'] });
    const env = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };
    const r = makeRepo();
    try {
      fs.writeFileSync(path.join(r, 'a.txt'), 'a\n');
      rvcOk(r, ['add', 'a.txt']);
      rvcOk(r, ['remote', 'add', 'dir', path.join(dir, 'folder-remote')]);
      rvcOk(r, ['remote', 'add', 's3', 's3://rvc-startup/p']);
      rvcOk(r, ['remote', 'modify', 's3', 'endpointurl', s3.endpoint]);
      rvcOk(r, ['push', '-r', 'dir']);
      await rvcAsyncOk(r, ['push', '-r', 's3'], env);
      // The S3 client brings its own @aws-sdk/ dependencies; what matters is which clients load.
      const cloud = (p: string[]): string[] => p.filter((x) => x === '@aws-sdk/client-s3' || x === '@aws-sdk/lib-storage' || x.startsWith('@google-cloud/'));
      for (const remote of ['dir', 's3']) {
        rmrf(path.join(r, '.rvc', 'cache'));
        const f = loaded(r, ['fetch', '-r', remote], env);
        expect(f.code, remote).toBe(0);
        expect(fs.readdirSync(path.join(r, '.rvc', 'cache', 'blake3')), remote).toHaveLength(1);
        if (remote === 'dir') expect(cloud(f.packages)).toEqual([]);
        else expect(cloud(f.packages)).toEqual(['@aws-sdk/client-s3']);
      }
    } finally {
      rmrf(r);
      await s3.stop();
    }
  });
});
