import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RVC_BIN, rvcOk, git, makeRepo, writeTree, readTree, rmrf, distinctBytes } from '../helpers/cli.js';

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

/**
 * The hash cache's rows of a repository: path -> [ino, mtime, size], read as docs/file-formats.md
 * gives the v3 file (a header line, then columns of little-endian float64, oids, paths).
 */
function stateRows(d: string): Map<string, [number, number, number]> {
  const rows = new Map<string, [number, number, number]>();
  const dir = path.join(d, '.rvc/tmp/state');
  for (const f of fs.readdirSync(dir)) {
    expect(f).toMatch(/^[0-9a-f]{32}\.state$/);
    const b = fs.readFileSync(path.join(dir, f));
    const nl = b.indexOf(10);
    const head = JSON.parse(b.toString('utf8', 0, nl)) as { v: number; rows: number; pathBytes: number };
    expect(head.v).toBe(3);
    const n = head.rows;
    const at = nl + 1;
    expect(b.length).toBe(at + n * (4 * 8 + 64) + head.pathBytes);
    const col = (k: number, i: number): number => b.readDoubleLE(at + 8 * (k * n + i));
    const paths = b.toString('utf8', at + n * (4 * 8 + 64)).split('\0');
    paths.forEach((p, i) => rows.set(p, [col(0, i), col(1, i), col(2, i)]));
  }
  return rows;
}

describe('checkout places small files through one buffer, in parallel', () => {
  it('under a umask that strips every bit, over read-only files in the way; modes, bytes and the hash cache as before', () => {
    const d = makeRepo();
    made.push(d);
    const big = distinctBytes(300 * 1024); // above the small-copy size: copied the ordinary way
    // Enough files that checkout records them in the hash cache (a handful it leaves to be hashed
    // again), and that worker threads copy them beside the main one.
    const many = Object.fromEntries(Array.from({ length: 1100 }, (_, i) => [`data/many/f${i}`, `${i}\n`]));
    writeTree(d, { 'data/a.txt': 'A\n', 'data/sub/b.bin': distinctBytes(5000), 'data/big.bin': big, 'data/run.sh': '#!/bin/sh\necho hi\n', ...many });
    fs.chmodSync(path.join(d, 'data/run.sh'), 0o755);
    rvcOk(d, ['add', 'data']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'data']);
    const want = readTree(path.join(d, 'data'));
    rmrf(path.join(d, 'data/sub'));
    rmrf(path.join(d, 'data/big.bin'));
    rmrf(path.join(d, 'data/run.sh'));
    rmrf(path.join(d, 'data/many'));
    // A file in the way, read-only, holding other bytes whose content is in the cache.
    fs.writeFileSync(path.join(d, 'data/a.txt'), 'B\n');
    rvcOk(d, ['add', 'data']);
    git(d, ['checkout', '-q', '--', 'data.rvc']);
    fs.chmodSync(path.join(d, 'data/a.txt'), 0o444);

    const r = spawnSync('sh', ['-c', `umask 777 && exec node ${JSON.stringify(RVC_BIN)} checkout`], { cwd: d, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(readTree(path.join(d, 'data'))).toEqual(want);
    const mode = (rel: string): number => fs.statSync(path.join(d, rel)).mode & 0o777;
    expect([mode('data/a.txt'), mode('data/sub/b.bin'), mode('data/big.bin'), mode('data/run.sh')]).toEqual([0o644, 0o644, 0o644, 0o755]);
    // What checkout recorded in the hash cache is each placed file's own stat.
    const rows = stateRows(d);
    for (const rel of ['a.txt', 'sub/b.bin', 'big.bin', 'run.sh', 'many/f0', 'many/f555', 'many/f1099']) {
      const st = fs.statSync(path.join(d, 'data', rel));
      expect(rows.get(rel), rel).toEqual([st.ino, st.mtimeMs, st.size]);
    }
    expect(fs.readdirSync(path.join(d, 'data')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(rvcOk(d, ['status']).stdout).toMatch(/up to date/);
  });
});
