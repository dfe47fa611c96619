import type { Ctx } from '../context.js';

export async function runVersion({ lib, out, flags }: Ctx) {
  const v = lib.version();
  if (flags.json) return out.json(v);
  out.info(`rvc version: ${v.rvc}`);
  out.info(`Node: ${v.node}`);
  out.info(`Platform: ${v.platform}`);
  out.info(`Supported link types here: ${v.linkTypes.join(', ')}`);
  if (v.repo) out.info(`Repository: ${v.repo.root} (hash: ${v.repo.hash}, cache.type: ${v.repo.cacheType.join(',')})`);
}
