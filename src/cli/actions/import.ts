import { type Ctx, copyFlags } from '../context.js';
import { fmtBytes, plural } from '../output.js';

export async function runImport({ lib, out, flags, common }: Ctx, repo: string, p: string) {
  const r = await lib.importData({
    ...common, repo, path: p,
    ...copyFlags(flags),
  });
  if (flags.json) return out.json(r);
  const what = r.nfiles !== undefined ? `${plural(r.nfiles, 'file')}, ${fmtBytes(r.size)}` : fmtBytes(r.size);
  out.info(`Imported ${r.import.path} from ${r.import.repo} at ${r.import.rev ?? 'HEAD'} (${r.import.rev_lock.slice(0, 8)}) → ${r.path} (${what})`);
  if (r.toGit.length) out.info(`To track it in git: git add ${r.toGit.join(' ')}`);
}
