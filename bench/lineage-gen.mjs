// bench/lineage-gen.mjs <repo> [commits] [subpipelines]: writes a long pipeline history into an
// rvc repository (made by `rvc init` and committed) with git fast-import. Every commit records
// data/raw (a pointer; a new version every 50 commits), a root rvc.yaml/rvc.lock with a
// two-stage chain prepare → train (train's params change in every commit), and `subpipelines`
// more pipeline files sub-NN/rvc.yaml with 5 stages each, one of whose entries changes per commit.
// Deterministic: the same history on every run. Prints the oid of the first data version.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist');
const { serializePointer } = await import(path.join(dist, 'model/pointer.js'));
const { serializeLock } = await import(path.join(dist, 'model/lock.js'));
const { hashBuffer } = await import(path.join(dist, 'hashing/hash.js'));

const [repo, commitsArg = '500', subsArg = '10'] = process.argv.slice(2);
if (!repo) {
  console.error('usage: node bench/lineage-gen.mjs <repo> [commits] [subpipelines]');
  process.exit(2);
}
const COMMITS = Number(commitsArg);
const SUBS = Number(subsArg);
const oid = (s) => hashBuffer('blake3', s);
const entry = (p, s) => ({ path: p, hash: 'blake3', oid: oid(s), size: 100 });

const ROOT_YAML = `stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py, data/raw]
    outs: [prepared.csv]
  train:
    cmd: python train.py
    deps: [train.py, prepared.csv]
    params: [lr]
    outs: [model.bin]
`;
const subYaml = () => `stages:\n${[0, 1, 2, 3, 4].map((j) => `  s${j}:\n    cmd: python s${j}.py\n    deps: [${j === 0 ? 'in.csv' : `o${j - 1}.csv`}]\n    outs: [o${j}.csv]\n`).join('')}`;

const chunks = [];
const data = (s) => {
  const b = Buffer.from(s);
  chunks.push(Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n'));
};
const file = (p, s) => {
  chunks.push(Buffer.from(`M 100644 inline ${p}\n`));
  data(s);
};
const subVersion = new Array(SUBS).fill(0);
const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).stdout.trim();
for (let k = 1; k <= COMMITS; k++) {
  const dv = Math.floor((k - 1) / 50);
  chunks.push(Buffer.from(`commit refs/heads/main\nmark :${k}\ncommitter Bench <bench@example.com> ${1_700_000_000 + k * 60} +0000\n`));
  data(`commit ${k}`);
  chunks.push(Buffer.from(k === 1 ? `from ${head}\n` : `from :${k - 1}\n`));
  if (k === 1 || (k - 1) % 50 === 0) {
    file('data/raw.rvc', serializePointer({ outs: [{ path: 'raw', hash: 'blake3', oid: oid(`raw v${dv}`), size: 1000 + dv }] }));
  }
  if (k === 1) {
    file('rvc.yaml', ROOT_YAML);
    file('prepare.py', 'print("prepare")\n');
    file('train.py', 'print("train")\n');
    for (let s = 0; s < SUBS; s++) file(`sub-${String(s).padStart(2, '0')}/rvc.yaml`, subYaml());
  }
  file('params.yaml', `lr: ${k / 10000}\n`);
  file('rvc.lock', serializeLock({
    schema: '1.0',
    stages: {
      prepare: { cmd: 'python prepare.py', deps: [entry('prepare.py', 'prepare'), { ...entry('data/raw', `raw v${dv}`), size: 1000 + dv }], outs: [entry('prepared.csv', `prepared ${dv}`)], params: {}, env: {} },
      train: { cmd: 'python train.py', deps: [entry('train.py', 'train'), entry('prepared.csv', `prepared ${dv}`)], outs: [entry('model.bin', `model ${k}`)], params: { 'params.yaml': { lr: k / 10000 } }, env: {} },
    },
  }));
  const s = k % Math.max(SUBS, 1);
  if (SUBS) {
    subVersion[s]++;
    const stages = {};
    for (let j = 0; j < 5; j++) {
      const v = `${s}/${subVersion[s]}/${j}`;
      const dir = `sub-${String(s).padStart(2, '0')}`;
      stages[`s${j}`] = { cmd: `python s${j}.py`, deps: [entry(`${dir}/${j === 0 ? 'in.csv' : `o${j - 1}.csv`}`, `in ${v}`)], outs: [entry(`${dir}/o${j}.csv`, `out ${v}`)], params: {}, env: {} };
    }
    file(`sub-${String(s).padStart(2, '0')}/rvc.lock`, serializeLock({ schema: '1.0', stages }));
  }
}
chunks.push(Buffer.from('done\n'));
const r = spawnSync('git', ['fast-import', '--quiet', '--done'], { cwd: repo, input: Buffer.concat(chunks), stdio: ['pipe', 'inherit', 'inherit'] });
if (r.status !== 0) process.exit(r.status ?? 1);
spawnSync('git', ['reset', '-q', '--hard', 'main'], { cwd: repo, stdio: 'inherit' });
console.log(oid('raw v0'));
