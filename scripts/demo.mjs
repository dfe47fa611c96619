#!/usr/bin/env node
// The README's quick start, run for real in a temporary folder: `npm run demo`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-demo-'));
const env = { ...process.env, NO_COLOR: '1', GIT_AUTHOR_NAME: 'demo', GIT_AUTHOR_EMAIL: 'demo@example.com', GIT_COMMITTER_NAME: 'demo', GIT_COMMITTER_EMAIL: 'demo@example.com' };

function run(cmd, args) {
  const shown = (cmd === process.execPath ? ['rvc', ...args.slice(1)] : [cmd, ...args]).join(' ');
  process.stdout.write(`\n$ ${shown}\n`);
  const out = execFileSync(cmd, args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (out.trim()) process.stdout.write(out.replace(/^/gm, '  '));
}
const rvc = (...a) => run(process.execPath, [bin, ...a]);
const sh = (...a) => run(a[0], a.slice(1));
const write = (rel, content) => {
  process.stdout.write(`\n# write ${rel}\n`);
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
};

try {
  process.stdout.write(`rvc demo in ${dir}\n`);
  sh('git', 'init', '-q');
  rvc('init');
  sh('git', 'add', '.rvc', '.rvcignore');
  sh('git', 'commit', '-q', '-m', 'Initialize rvc');
  write('data/train.csv', 'x,y\n1,2\n2,4\n');
  write('data/images/cat.bin', Buffer.alloc(4096, 7));
  rvc('add', 'data');
  sh('git', 'add', 'data.rvc', '.gitignore');
  sh('git', 'commit', '-q', '-m', 'Dataset v1');
  write('data/train.csv', 'x,y\n1,2\n2,4\n3,6\n');
  rvc('status');
  rvc('add', 'data');
  sh('git', 'commit', '-q', '-am', 'Dataset v2');
  sh('git', 'checkout', '-q', 'HEAD~1');
  rvc('checkout');
  process.stdout.write(`\n# data/train.csv is back at v1:\n${fs.readFileSync(path.join(dir, 'data/train.csv'), 'utf8').replace(/^/gm, '  ')}`);
  sh('git', 'checkout', '-q', '-');
  rvc('checkout');
  process.stdout.write(`\n# and at v2 again:\n${fs.readFileSync(path.join(dir, 'data/train.csv'), 'utf8').replace(/^/gm, '  ')}`);
  rvc('status');
  process.stdout.write('\nDemo finished.\n');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
