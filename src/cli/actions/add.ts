import { fmtBytes, plural } from '../output.js';
import type { Ctx } from '../context.js';

export async function runAdd({ lib, out, flags, common }: Ctx, paths: string[]) {
  const r = await lib.add(paths, {
    ...common, noCommit: flags.commit === false, ...(flags.desc ? { desc: String(flags.desc) } : {}),
    ...(flags.glob ? { glob: true } : {}), ...(flags.out !== undefined ? { out: String(flags.out) } : {}),
  });
  if (flags.json) return out.json(r);
  for (const a of r.added) {
    const what = a.nfiles !== undefined ? `${plural(a.nfiles, 'file')}, ${fmtBytes(a.size)}` : fmtBytes(a.size);
    out.info(`${a.changed ? 'Added' : 'Unchanged'} ${a.path} (${what}) → ${a.pointerFile}`);
  }
  if (r.toGit.length) {
    out.info('');
    out.info('To track the changes with git, run:');
    out.info(`    git add ${r.toGit.join(' ')}`);
  }
}
