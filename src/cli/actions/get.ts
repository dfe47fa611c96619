import path from 'node:path';
import { type Ctx, copyFlags } from '../context.js';
import { fmtBytes, plural } from '../output.js';

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

export async function runGet(ctx: Ctx, first: string, second: string | undefined) {
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
}
