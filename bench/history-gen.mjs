// bench/history-gen.mjs <repo> [commits] [pointers]: writes a long history into an rvc
// repository (made by `rvc init` and committed) with git fast-import: `commits` commits, each
// changing a tenth of `pointers` pointer files (one in ten tracks a folder of 200 files whose
// manifest is written into the cache; the others track one file), beside 100 ordinary source
// files, one of which changes in every commit. Deterministic: the same history on every run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist');
const { Odb } = await import(path.join(dist, 'odb/odb.js'));
const { serializePointer } = await import(path.join(dist, 'model/pointer.js'));
const { hashBuffer } = await import(path.join(dist, 'hashing/hash.js'));

const [repo, commitsArg = '500', pointersArg = '50'] = process.argv.slice(2);
if (!repo) {
  console.error('usage: node bench/history-gen.mjs <repo> [commits] [pointers]');
  process.exit(2);
}
const COMMITS = Number(commitsArg);
const POINTERS = Number(pointersArg);
const DIR_FILES = 200;
const odb = new Odb(path.join(repo, '.rvc', 'cache'), 'blake3', path.join(repo, '.rvc', 'tmp', 'objects'));

const version = new Array(POINTERS).fill(0);
const fileVersion = Array.from({ length: POINTERS }, () => new Array(DIR_FILES).fill(0));
const isDir = (i) => i % 10 === 0;

function pointerText(i) {
  const name = `set-${String(i).padStart(3, '0')}`;
  if (!isDir(i)) {
    const oid = hashBuffer('blake3', `${name} v${version[i]}`);
    return serializePointer({ outs: [{ path: `${name}.bin`, hash: 'blake3', oid, size: 1000 + version[i] }] });
  }
  const entries = [];
  for (let j = 0; j < DIR_FILES; j++) {
    const p = `part-${String(j).padStart(3, '0')}.csv`;
    entries.push({ path: p, oid: hashBuffer('blake3', `${name}/${p} v${fileVersion[i][j]}`), size: 500 + fileVersion[i][j] });
  }
  const oid = odb.writeTree(entries);
  return serializePointer({ outs: [{ path: name, hash: 'blake3', oid, size: entries.reduce((s, e) => s + e.size, 0), nfiles: DIR_FILES }] });
}

const chunks = [];
const data = (s) => {
  const b = Buffer.from(s);
  chunks.push(Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n'));
};
const ptrPath = (i) => `data/g${i % 10}/set-${String(i).padStart(3, '0')}.rvc`;
const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).stdout.trim();
for (let k = 1; k <= COMMITS; k++) {
  chunks.push(Buffer.from(`commit refs/heads/main\nmark :${k}\ncommitter Bench <bench@example.com> ${1_700_000_000 + k * 60} +0000\n`));
  data(`commit ${k}`);
  chunks.push(Buffer.from(k === 1 ? `from ${head}\n` : `from :${k - 1}\n`));
  for (let i = 0; i < POINTERS; i++) {
    if (k > 1 && (i * 7 + k) % 10 !== 0) continue;
    if (k > 1) {
      version[i]++;
      if (isDir(i)) for (let c = 0; c < 5; c++) fileVersion[i][(k * 13 + c * 41) % DIR_FILES]++;
    }
    chunks.push(Buffer.from(`M 100644 inline ${ptrPath(i)}\n`));
    data(pointerText(i));
  }
  const src = k === 1 ? Array.from({ length: 100 }, (_, j) => j) : [k % 100];
  for (const j of src) {
    chunks.push(Buffer.from(`M 100644 inline src/mod${String(j).padStart(3, '0')}.py\n`));
    data(`# module ${j}, revision ${k}\n`);
  }
}
chunks.push(Buffer.from('done\n'));
const r = spawnSync('git', ['fast-import', '--quiet', '--done'], { cwd: repo, input: Buffer.concat(chunks), stdio: ['pipe', 'inherit', 'inherit'] });
if (r.status !== 0) process.exit(r.status ?? 1);
spawnSync('git', ['reset', '-q', '--hard', 'main'], { cwd: repo, stdio: 'inherit' });
