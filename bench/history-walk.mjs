// bench/history-walk.mjs <repo> <pairs>: times, inside one process, (1) reading every output
// recorded at every commit reachable from any ref through History, and (2) the library's diff
// between `pairs` consecutive commits. Prints one JSON line.
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist');
const { openHistory } = await import(path.join(dist, 'repo/history.js'));
const { diff } = await import(path.join(dist, 'index.js'));
const [repo, pairsArg = '50'] = process.argv.slice(2);

let t = performance.now();
const h = openHistory(repo);
const revs = h.resolveScope({ allCommits: true });
let outs = 0;
for (const [commit, label] of revs) outs += (await h.outsAt(commit, label)).length;
h.close();
const walkMs = performance.now() - t;

const order = execFileSync('git', ['rev-list', '--reverse', 'main'], { cwd: repo, encoding: 'utf8' }).trim().split('\n');
const pairs = Math.min(Number(pairsArg), order.length - 1);
t = performance.now();
let changed = 0;
for (let i = 0; i < pairs; i++) {
  const r = await diff({ cwd: repo, a: order[i], b: order[i + 1] });
  changed += r.added.length + r.modified.length + r.deleted.length + r.renamed.length;
}
const pairsMs = performance.now() - t;
console.log(JSON.stringify({ commits: revs.size, outs, walkMs: Math.round(walkMs), pairs, changed, pairsMs: Math.round(pairsMs) }));
