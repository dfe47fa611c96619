import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rvc, rvcOk, git, writeTree, rmrf, tmpDir } from '../helpers/cli.js';

/*
 * Every command that downloads a folder's manifest on its own (without its files) goes through
 * the transfer layer's one verified download (`fetchObject`): a damaged manifest on the remote is
 * refused as OBJECT_CORRUPT naming its key, never enters a cache, and leaves no temp file.
 */

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

function initRepo(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.email', 'test@example.com']);
  git(dir, ['config', 'user.name', 'rvc test']);
  git(dir, ['config', 'commit.gpgsign', 'false']);
  rvcOk(dir, ['init', '-q']);
  return dir;
}

/** Files below `dir` (recursively), relative; [] when it does not exist. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

let base: string;
let src: string;
let manifestKey: string;

beforeAll(() => {
  base = fs.realpathSync(tmpDir('rvc-onedl-'));
  src = initRepo(path.join(base, 'src'));
  writeTree(src, { 'data/a.txt': 'alpha\n', 'data/sub/file.txt': 'in the sub-folder\n' });
  rvcOk(src, ['add', 'data']);
  rvcOk(src, ['remote', 'add', '-d', 'store', path.join(base, 'store')]);
  git(src, ['add', '-A']);
  git(src, ['commit', '-q', '-m', 'data']);
  rvcOk(src, ['push']);
  const oid = /oid: (\S+)/.exec(fs.readFileSync(path.join(src, 'data.rvc'), 'utf8'))![1]!;
  manifestKey = `blake3/${oid.slice(0, 2)}/${oid.slice(2)}`;
  // The remote's copy of the manifest is damaged (one more byte); the source's cache keeps a good one.
  const onRemote = path.join(base, 'store', manifestKey);
  fs.chmodSync(onRemote, 0o644);
  fs.appendFileSync(onRemote, '\n');
});

afterAll(() => {
  rmrf(base);
});

describe('a damaged manifest on a folder remote', () => {
  it('is refused by fetch of a file inside the folder, by gc, and by get from a repository URL', () => {
    const clone = path.join(base, 'clone');
    git(base, ['clone', '-q', src, clone]);
    const cache = path.join(clone, '.rvc/cache');
    const refused = new RegExp(`'${manifestKey.replace(/[.]/g, '\\.')}' on remote .* does not match its oid`);

    // fetch of one file inside the folder first fetches the folder's manifest alone.
    const fetch = rvc(clone, ['fetch', 'data/sub/file.txt', '--json']);
    expect(fetch.code).toBe(1);
    const failed = json(fetch).failed as { code: string; message: string; paths: string[] }[];
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ code: 'OBJECT_CORRUPT', paths: ['data'] });
    expect(failed[0]!.message).toMatch(refused);
    expect(filesUnder(cache)).toEqual([]);

    // gc needs the manifest to know what to keep: it refuses and removes nothing.
    const gc = rvc(clone, ['gc', '--workspace', '--json']);
    expect(gc.code).toBe(1);
    expect(json(gc).error.code).toBe('OBJECT_MISSING');
    expect(json(gc).error.message).toMatch(refused);
    expect(filesUnder(cache)).toEqual([]);

    // get from a URL: the source is cloned bare (no cache), so its default remote is asked.
    const out = path.join(base, 'got');
    const get = rvc(base, ['get', pathToFileURL(src).href, 'data', '-o', out, '--json']);
    expect(get.code).toBe(1);
    expect(json(get).error.code).toBe('OBJECT_CORRUPT');
    expect(json(get).error.message).toMatch(refused);
    expect(fs.existsSync(out)).toBe(false);

    // The source's own cache is good, so get from its path succeeds (it is read first).
    rvcOk(base, ['get', src, 'data', '-o', out]);
    expect(fs.readFileSync(path.join(out, 'sub/file.txt'), 'utf8')).toBe('in the sub-folder\n');
  });
});
