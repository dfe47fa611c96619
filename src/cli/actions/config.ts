import type { Ctx } from '../context.js';

export async function runConfig({ lib, out, flags, common }: Ctx, key?: string, value?: string) {
  const local = !!flags.local;
  if (flags.list) {
    const all = lib.configList({ ...common, local });
    if (flags.json) return out.json(all);
    for (const [k, v] of Object.entries(all)) out.info(`${k}=${String(v)}`);
    return;
  }
  const k = lib.assertKeyGiven(key);
  if (flags.unset || value !== undefined) {
    const r = await lib.configSet(k, flags.unset ? undefined : value, { ...common, local });
    if (r.stillInvalid) out.warn(`the configuration still has a problem: ${r.stillInvalid.message}${r.stillInvalid.hint ? ` (${r.stillInvalid.hint})` : ''}`);
    return;
  }
  const v = lib.configGet(k, { ...common, local });
  if (flags.json) return out.json({ [k]: v ?? null });
  if (v !== undefined) out.info(Array.isArray(v) ? v.join(',') : String(v));
}
