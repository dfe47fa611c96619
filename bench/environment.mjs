// bench/environment.mjs: what capturing a stage run's environment costs (once per repro).
//
//   node node_modules/typescript/bin/tsc -p tsconfig.json   # build dist/ once
//   node bench/environment.mjs [runs]                       # default 20 runs
//
// Captures the environment of a small temporary project (a requirements.txt and one probe
// command from `environment:`) `runs` times in a row and prints the median and the slowest, in
// milliseconds. The probes run in parallel, so the figure is about the slowest probe (usually
// `python3 --version`) plus process start-up, not their sum.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { captureEnvironment } = await import(path.join(root, 'dist/pipeline/environment.js'));
const { Repo } = await import(path.join(root, 'dist/repo/repo.js'));

const runs = Number(process.argv[2] ?? 20);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-bench-env-'));
try {
  execFileSync('git', ['init', '-q'], { cwd: dir });
  execFileSync(process.execPath, [path.join(root, 'dist/cli/main.js'), 'init', '-q'], { cwd: dir });
  fs.writeFileSync(path.join(dir, 'requirements.txt'), 'torch==2.1.0\nnumpy==1.26.0\n');
  fs.writeFileSync(path.join(dir, 'tool-version.txt'), '2.1.0\n');
  const repo = Repo.open(dir);
  const spec = { commands: { tool: { cmd: 'cat tool-version.txt', wdir: '.' } }, files: [], strict: false, timeout: 2 };
  const times = [];
  let rec;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    rec = await captureEnvironment(repo, spec, { pipelineFiles: ['rvc.yaml'] });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify(rec, null, 2));
  console.log(`environment capture, ${runs} runs: median ${times[Math.floor(runs / 2)].toFixed(1)} ms, max ${times[runs - 1].toFixed(1)} ms`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
