import { plural } from '../output.js';
import type { Ctx } from '../context.js';

export async function runUnprotect({ lib, out, flags, common }: Ctx, targets: string[]) {
  const r = await lib.unprotect(targets, common);
  if (flags.json) return out.json(r);
  out.info(`Unprotected ${plural(r.unprotected.length, 'file')}.`);
}
