import { Command } from 'commander';
import { action, withGlobals } from '../context.js';
import { fmtBytes } from '../output.js';

export function register(program: Command): void {
  withGlobals(program.command('ls').alias('list'), { json: true })
    .description('list the files git stores and the data rvc tracks in another repository (a local path or a git URL)')
    .argument('<repo>', 'a local path or any URL git can clone')
    .argument('[path]', 'a path inside that repository (default: its root)')
    .option('--rev <rev>', 'branch, tag or commit of that repository (default: its HEAD)')
    .option('-R, --recursive', 'list every file below the path, inside tracked folders too')
    .action(action(async ({ lib, out, flags, common }, repo: string, p: string | undefined) => {
      const r = await lib.ls(repo, {
        ...(common.cwd ? { cwd: common.cwd } : {}),
        ...(p !== undefined ? { path: p } : {}),
        ...(flags.rev !== undefined ? { rev: String(flags.rev) } : {}),
        ...(flags.recursive ? { recursive: true } : {}),
      });
      if (flags.json) return out.json(r);
      for (const e of r.entries) {
        const mark = e.isout ? 'rvc' : 'git';
        const size = e.size !== undefined ? fmtBytes(e.size) : '';
        out.info(`${mark}  ${size.padStart(10)}  ${e.path}${e.isdir ? '/' : ''}`);
      }
    }));
}
