import { Command } from 'commander';
import { action, withGlobals } from '../context.js';
import { fmtBytes, plural } from '../output.js';

export function register(program: Command): void {
  withGlobals(program.command('add'), { json: true })
    .description('track files or folders: store their content in the cache and write <path>.rvc pointers')
    .argument('<paths...>', 'files or folders inside the repository (with -o: one source, anywhere)')
    .option('--no-commit', 'write the pointer only; store the data later with `rvc commit`')
    .option('--desc <text>', 'a description kept in the pointer file')
    .option('--glob', 'the paths are glob patterns (quote them), expanded in the workspace; each match is added')
    .option('-o, --out <path>', 'copy the one source given to this path in the workspace (into it, if a folder) and track it there')
    .action(action(async ({ lib, out, flags, common }, paths: string[]) => {
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
    }));
}
