import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { git, rvcOk, tmpDir, rmrf, RVC_BIN, ROOT } from '../helpers/cli.js';

/**
 * Many tiny files: add, a no-op status, push to a folder remote and checkout into an empty
 * workspace each stay under 1 GiB of resident memory and never run out of file descriptors
 * (every command runs under `ulimit -n 1024`). bench/scale.sh measures the same at 10^6 files.
 *
 * 30,000 files by default, about a minute with cleanup on two busy cores, so the test fits in
 * CI's stress budget beside the kill loops; `RVC_SCALE_FILES=1000000 npm run test:stress` runs
 * the full size (about 40 minutes). The budget asserted is the 1 GiB at every size, not
 * a scaled-down one.
 */

const N = Number(process.env.RVC_SCALE_FILES ?? 30_000);
const RSS_LIMIT_KB = 1024 * 1024;
const hasTime = fs.existsSync('/usr/bin/time');
if (!hasTime) console.warn('scale.test.ts: skipped: needs GNU time at /usr/bin/time for peak RSS');

const work = tmpDir('rvc-scale-');
afterAll(() => rmrf(work));

/** Runs rvc under the descriptor limit; returns peak RSS in KB. */
function measured(cwd: string, args: string[]): number {
  const timeFile = path.join(work, 'time.txt');
  const r = spawnSync('bash', ['-c', `ulimit -n 1024; exec /usr/bin/time -f %M -o "$0" "$@"`, timeFile, process.execPath, RVC_BIN, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 1_200_000, maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`rvc ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
  expect(r.stderr).not.toMatch(/EMFILE|too many open files/i);
  return Number(fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop());
}

describe.skipIf(!hasTime)(`${N.toLocaleString('en')} tiny files`, () => {
  it('add, status, push and checkout each stay under 1 GiB RSS without running out of descriptors', () => {
    const d = path.join(work, 'repo');
    fs.mkdirSync(d);
    git(d, ['init', '-q', '-b', 'main']);
    rvcOk(d, ['init']);
    execFileSync(process.execPath, [path.join(ROOT, 'bench/scale-gen.mjs'), String(N), path.join(d, 'data')]);
    const peaks: Record<string, number> = {};
    peaks.add = measured(d, ['add', 'data', '-q']);
    peaks.status = measured(d, ['status', '-q']);
    rvcOk(d, ['remote', 'add', '-d', 'store', path.join(work, 'store')]);
    peaks.push = measured(d, ['push', '-q']);
    rmrf(path.join(d, 'data'));
    peaks.checkout = measured(d, ['checkout', '-q']);
    console.log(`peak RSS (MiB) at ${N} files:`, Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v / 1024)])));
    for (const [cmd, kb] of Object.entries(peaks)) expect(kb, `${cmd} peak RSS`).toBeLessThan(RSS_LIMIT_KB);
    let count = 0;
    for (const sub of fs.readdirSync(path.join(d, 'data'))) count += fs.readdirSync(path.join(d, 'data', sub)).length;
    expect(count).toBe(N);
  }, 3_600_000);
});
