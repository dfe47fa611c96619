import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

describe('gc --cloud from a clone whose cache lacks a stage folder output', () => {
  it("fetches the output's manifest to keep its files on the remote", () => {
    const d = makeRepo();
    const store = tmpDir();
    made.push(d, store);
    writeTree(d, {
      'make.sh': 'mkdir -p out && for i in 1 2 3; do echo "part $i" > out/p$i.txt; done\n',
      'rvc.yaml': 'stages:\n  make:\n    cmd: sh make.sh\n    deps: [make.sh]\n    outs: [out]\n',
    });
    rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    rvcOk(d, ['repro', '-q']);
    rvcOk(d, ['push', '-q']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'v1']);
    const objects = (): number => (fs.readdirSync(store, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(store, f)).isFile()).length;
    const before = objects();
    expect(before).toBe(4); // three files and the manifest, loose

    // A clone with an empty cache: the manifest is only on the remote.
    const c = tmpDir('rvc-clone-');
    made.push(c);
    git(path.dirname(c), ['clone', '-q', d, c]);
    const r = JSON.parse(rvcOk(c, ['gc', '-w', '--cloud', '--json']).stdout) as { fetchedManifests: number; cloud: { removed: string[] } };
    expect(r.cloud.removed).toEqual([]);
    expect(r.fetchedManifests).toBe(1);
    expect(objects()).toBe(before);
    rvcOk(c, ['pull', '-q']);
    expect(fs.readFileSync(path.join(c, 'out/p2.txt'), 'utf8')).toBe('part 2\n');

  });
});
