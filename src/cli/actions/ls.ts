import { fmtBytes } from '../output.js';
import type { Ctx } from '../context.js';

export async function runLs({ lib, out, flags, common }: Ctx, repo: string, p: string | undefined) {
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
}
