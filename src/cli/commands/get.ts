import { Command } from 'commander';
import path from 'node:path';
import { action, withGlobals } from '../context.js';
import { fmtBytes, plural } from '../output.js';

export function register(program: Command): void {
  withGlobals(program.command('get'), { json: true })
    .description('write a tracked path as it was at a git revision to another place (the workspace, HEAD and the index are not touched)')
    .argument('<path>', 'a tracked path, or a file or folder inside a tracked folder')
    .option('--rev <rev>', 'git revision (commit, branch, tag); default: the pointers in the workspace')
    .option('-o, --out <path>', 'destination (an existing folder receives it under its own name); default: its name in the current folder')
    .option('-f, --force', 'replace an existing destination')
    .option('-r, --remote <name>', 'remote to fetch objects the cache lacks from (default: core.remote)')
    .action(action(async ({ lib, out, flags, common }, p: string) => {
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
