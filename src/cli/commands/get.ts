import { Command } from 'commander';
import path from 'node:path';
import { action, withGlobals, type Ctx, parseJobs, copyFlags } from '../context.js';
import { fmtBytes, plural } from '../output.js';

export function register(program: Command): void {
  withGlobals(program.command('get'), { json: true })
    .description('write a tracked path as it was at a git revision to another place (the workspace, HEAD and the index are not touched); `rvc get <repo> <path>` copies from another repository')
    .argument('<path|repo>', 'a tracked path, or a file or folder inside a tracked folder; with two arguments: <repo> <path>, from another repository')
    .argument('[path]', 'with <repo> first: the path inside that repository (a local path or any URL git can clone)')
    .option('--rev <rev>', 'git revision (commit, branch, tag); default: the pointers in the workspace')
    .option('-o, --out <path>', 'destination (an existing folder receives it under its own name); default: its name in the current folder')
    .option('-f, --force', 'replace an existing destination')
    .option('-r, --remote <name>', 'remote to fetch objects the cache lacks from (default: core.remote)')
    .option('-j, --jobs <n>', 'concurrent transfers (another repository only)', parseJobs)
    .action(action(async (ctx, first: string, second: string | undefined) => {
      if (second !== undefined) return getExternal(ctx, first, second);
      const { lib, out, flags, common } = ctx;
      const p = first;
      const r = await lib.get({
        ...common, path: p,
        ...(flags.rev !== undefined ? { rev: String(flags.rev) } : {}),
        ...(flags.out !== undefined ? { out: String(flags.out) } : {}),
        ...(flags.force ? { force: true } : {}),
        ...(flags.remote ? { remote: String(flags.remote) } : {}),
      });
      if (flags.json) return out.json(r);
      const where = path.relative(process.cwd(), r.out) || '.';
      const what = r.kind === 'dir' ? `${plural(r.files, 'file')}, ${fmtBytes(r.bytes)}` : fmtBytes(r.bytes);
      out.info(`${r.path}${r.commit ? ` at ${r.rev} (${r.commit.slice(0, 8)})` : ''} → ${where} (${what}${r.fetched ? `; ${plural(r.fetched, 'object')} fetched` : ''})`);
    }));
}

/** `rvc get <repo> <path>`: from another repository (its cache or its default remote). */
async function getExternal({ lib, out, flags, common }: Ctx, repo: string, p: string): Promise<void> {
  if (flags.remote) throw new lib.RvcError('USAGE', '-r/--remote does not apply to another repository', { hint: 'its data comes from its own cache or default remote' });
  const r = await lib.getExternal({
    ...common, repo, path: p,
    ...copyFlags(flags),
  });
  if (flags.json) return out.json(r);
  const where = path.relative(process.cwd(), r.out) || '.';
  const what = r.kind === 'dir' ? `${plural(r.files, 'file')}, ${fmtBytes(r.bytes)}` : fmtBytes(r.bytes);
  out.info(`${r.path} from ${r.repo} at ${r.rev ?? 'HEAD'} (${r.commit.slice(0, 8)}) → ${where} (${what}${r.source === 'git' ? ', from git' : ''})`);
}
