import { Command } from 'commander';
import { action, withGlobals, parseJobs, copyFlags } from '../context.js';
import { fmtBytes, plural } from '../output.js';

export function register(program: Command): void {
  withGlobals(program.command('import'), { json: true })
    .description('copy tracked data from another repository into this one and record where it came from (`rvc update` moves it later)')
    .argument('<repo>', 'a local path or any URL git can clone')
    .argument('<path>', 'tracked data in that repository, or a file or folder inside a tracked folder')
    .option('--rev <rev>', 'branch, tag or commit to follow (default: the source\'s HEAD)')
    .option('-o, --out <path>', 'where to put it in this repository (default: its name in the current folder)')
    .option('-f, --force', 'replace an existing pointer or workspace copy')
    .option('-j, --jobs <n>', 'concurrent transfers', parseJobs)
    .action(action(async ({ lib, out, flags, common }, repo: string, p: string) => {
      const r = await lib.importData({
        ...common, repo, path: p,
        ...copyFlags(flags),
      });
      if (flags.json) return out.json(r);
      const what = r.nfiles !== undefined ? `${plural(r.nfiles, 'file')}, ${fmtBytes(r.size)}` : fmtBytes(r.size);
      out.info(`Imported ${r.import.path} from ${r.import.repo} at ${r.import.rev ?? 'HEAD'} (${r.import.rev_lock.slice(0, 8)}) → ${r.path} (${what})`);
      if (r.toGit.length) out.info(`To track it in git: git add ${r.toGit.join(' ')}`);
    }));
}
