#!/usr/bin/env node
// bench/pipeline-gen.mjs: writes a pipeline project for bench/pipeline.sh.
//
//   node bench/pipeline-gen.mjs <dir> chain|fanout|multi [stages]
//
// chain:  s000 reads in/000.txt; every later stage reads the output of the one before.
// fanout: 'source' writes source.txt; every other stage reads it and its own small input.
// multi:  10 pipeline files p0/rvc.yaml … p9/rvc.yaml of stages/10 stages each, a chain in each
//         file whose first stage reads the last output of the file before (one graph across files).
// Every stage has one small dependency (besides the fan-out's shared one) and one output, and
// a trivial command (`cp`), so the timings measure rvc, not the commands.
import fs from 'node:fs';
import path from 'node:path';

const [dir, shape, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 200);
if (!dir || !['chain', 'fanout', 'multi'].includes(shape) || !Number.isInteger(n) || n < 2 || (shape === 'multi' && n % 10 !== 0)) {
  process.stderr.write('usage: node bench/pipeline-gen.mjs <dir> chain|fanout|multi [stages] (multi: a multiple of 10)\n');
  process.exit(2);
}
const id = (i) => String(i).padStart(3, '0');
fs.mkdirSync(path.join(dir, 'in'), { recursive: true });
let yaml = 'stages:\n';
if (shape === 'multi') {
  const per = n / 10;
  fs.writeFileSync(path.join(dir, 'in/000.txt'), 'input 0\n');
  for (let f = 0; f < 10; f++) {
    let y = 'stages:\n';
    for (let i = 0; i < per; i++) {
      // Paths in p<f>/rvc.yaml are relative to p<f>/.
      const dep = i > 0 ? `out/${id(i - 1)}.txt` : f === 0 ? '../in/000.txt' : `../p${f - 1}/out/${id(per - 1)}.txt`;
      y += `  s${id(i)}:\n    cmd: mkdir -p out && cp ${dep} out/${id(i)}.txt\n    deps:\n      - ${dep}\n    outs:\n      - out/${id(i)}.txt\n`;
    }
    fs.mkdirSync(path.join(dir, `p${f}`), { recursive: true });
    fs.writeFileSync(path.join(dir, `p${f}/rvc.yaml`), y);
  }
  process.exit(0);
}
if (shape === 'chain') {
  for (let i = 0; i < n; i++) {
    const dep = i === 0 ? 'in/000.txt' : `out/${id(i - 1)}.txt`;
    if (i === 0) fs.writeFileSync(path.join(dir, dep), 'input 0\n');
    yaml += `  s${id(i)}:\n    cmd: mkdir -p out && cp ${dep} out/${id(i)}.txt\n    deps:\n      - ${dep}\n    outs:\n      - out/${id(i)}.txt\n`;
  }
} else {
  fs.writeFileSync(path.join(dir, 'in/source.txt'), 'source\n');
  yaml += `  source:\n    cmd: cp in/source.txt source.txt\n    deps:\n      - in/source.txt\n    outs:\n      - source.txt\n`;
  for (let i = 1; i < n; i++) {
    fs.writeFileSync(path.join(dir, `in/${id(i)}.txt`), `input ${i}\n`);
    yaml += `  f${id(i)}:\n    cmd: mkdir -p out && cat source.txt in/${id(i)}.txt > out/${id(i)}.txt\n    deps:\n      - source.txt\n      - in/${id(i)}.txt\n    outs:\n      - out/${id(i)}.txt\n`;
  }
}
fs.writeFileSync(path.join(dir, 'rvc.yaml'), yaml);
