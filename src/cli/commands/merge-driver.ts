import { Command } from 'commander';
import { action, withGlobals } from '../context.js';
import { EXIT } from '../exit.js';

/**
 * Hidden: git runs it as `merge.rvc.driver` (see `rvc install`). Exit 0 means %A holds the merge
 * result; exit 1 makes git report the path as conflicted, with %A left as our version.
 */
export function register(program: Command): void {
  withGlobals(program.command('merge-driver', { hidden: true }), { json: true })
    .description('git merge driver for .rvc pointers and rvc.lock (run by git, configured by `rvc install`)')
    .argument('<base>', 'the merge base version (%O)')
    .argument('<ours>', 'our version, replaced by the result (%A)')
    .argument('<theirs>', 'their version (%B)')
    .argument('<path>', 'the path being merged (%P)')
    .action(action(async ({ lib, out, flags, common }, base: string, ours: string, theirs: string, file: string) => {
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
    }));
}
