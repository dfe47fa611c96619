import type { Ctx } from '../context.js';

export async function runRemove({ lib, out, flags, common }: Ctx, targets: string[]) {
  const r = await lib.remove(targets, { ...common, outs: !!flags.outs });
  if (flags.json) return out.json(r);
  for (const x of r.removed) {
    if (x.stage !== undefined) out.info(`Removed stage '${x.stage}' from ${x.pointerFile}${x.dataDeleted && x.paths.length ? ` and its outputs ${x.paths.join(', ')}` : ''}`);
    else out.info(`Removed ${x.pointerFile}${x.dataDeleted ? ` and ${x.paths.join(', ')}` : ''}`);
  }
  if (r.toGit.length) {
    out.info('');
    out.info('To record the removal in git, run:');
    out.info(`    git add ${r.toGit.join(' ')}`);
  }
}
