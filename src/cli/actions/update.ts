import type { Ctx } from '../context.js';

export async function runUpdate({ lib, out, flags, common }: Ctx, targets: string[]) {
  const r = await lib.update({
    ...common, targets,
    ...(flags.rev !== undefined ? { rev: String(flags.rev) } : {}),
    ...(flags.force ? { force: true } : {}),
  });
  if (flags.json) return out.json(r);
  for (const u of r.updated) {
    if (!u.changed && u.from === u.to && !u.dataChanged) out.info(`${u.path}: up to date (${u.to.slice(0, 8)})`);
    else out.info(`${u.path}: ${u.from.slice(0, 8)} → ${u.to.slice(0, 8)}${u.dataChanged ? '' : ' (data unchanged)'}`);
  }
}
