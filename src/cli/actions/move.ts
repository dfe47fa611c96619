import type { Ctx } from '../context.js';

export async function runMove({ lib, out, flags, common }: Ctx, src: string, dst: string) {
  const r = await lib.move(src, dst, common);
  if (flags.json) return out.json(r);
  out.info(`Moved ${r.from} → ${r.to} (pointer: ${r.pointerFile})`);
}
