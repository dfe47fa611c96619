import { EXIT } from '../exit.js';
import type { Ctx } from '../context.js';

export async function runMergeDriver({ lib, out, flags, common }: Ctx, base: string, ours: string, theirs: string, file: string) {
  const r = await lib.mergeDriver({ ...common, base, ours, theirs, path: file });
  if (flags.json) {
    out.json(r);
    return r.merged ? EXIT.OK : EXIT.FAILURE;
  }
  for (const t of r.trees) out.detail(`rvc: merged ${t.path} (${t.nfiles} files)`);
  if (r.merged) return EXIT.OK;
  for (const c of r.conflicts) out.error(`rvc merge conflict in ${r.file}: ${c.message}`);
  out.error(
    `rvc could not merge ${r.file}; it keeps our version`,
    r.kind === 'lock'
      ? 'merge rvc.yaml, then run `rvc repro` to record the stages again (`git checkout --ours rvc.lock` to start from our record)'
      : `settle the data yourself (for example \`git checkout --theirs ${r.file} && rvc checkout\`, or edit the files and \`rvc add\` them), then \`git add ${r.file}\``,
  );
  return EXIT.FAILURE;
}
