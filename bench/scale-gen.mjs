#!/usr/bin/env node
// Many tiny files for bench/scale.sh and test/stress/scale.test.ts:
//
//   node bench/scale-gen.mjs N DEST   N files of a few bytes, 1,000 per folder:
//                                     DEST/d0000/f000.txt … (every file's content is distinct,
//                                     so the cache gets N objects, the worst case)
//
// Prints nothing but errors.
import fs from 'node:fs';
import path from 'node:path';

export function generate(n, dest) {
  const perDir = 1000;
  const dirs = Math.ceil(n / perDir);
  const dw = Math.max(4, String(dirs - 1).length);
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(dest, `d${String(d).padStart(dw, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    const count = Math.min(perDir, n - d * perDir);
    for (let f = 0; f < count; f++) {
      fs.writeFileSync(path.join(dir, `f${String(f).padStart(3, '0')}.txt`), `${d * perDir + f}\n`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n, dest] = [Number(process.argv[2]), process.argv[3]];
  if (!Number.isInteger(n) || n < 1 || !dest) {
    process.stderr.write('usage: node bench/scale-gen.mjs N DEST\n');
    process.exit(2);
  }
  generate(n, dest);
}
