import type { Ctx } from '../context.js';

export async function runRemoteAdd({ lib, out, flags, common }: Ctx, name: string, url: string) {
  const r = await lib.remoteAdd(name, url, { ...common, makeDefault: !!flags.default, local: !!flags.local, force: !!flags.force });
  out.info(`Added remote '${r.name}' → ${r.url}${r.isDefault ? ' (default)' : ''}`);
}

export async function runRemoteList({ lib, out, flags, common }: Ctx) {
  const list = await lib.remoteList(common);
  if (flags.json) return out.json(list);
  if (!list.length) return out.info('No remotes. Add one with `rvc remote add -d <name> <url>`.');
  for (const r of list) {
    const extra = Object.entries(r.options).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    out.info(`${r.name}\t${r.url}${r.isDefault ? '\t(default)' : ''}${extra ? `\t${extra}` : ''}`);
  }
}

export async function runRemoteDefault({ lib, out, flags, common }: Ctx, name?: string) {
  const r = await lib.remoteDefault(name, { ...common, unset: !!flags.unset, local: !!flags.local });
  if (name === undefined && !flags.unset) out.info(r ?? '(no default remote)');
}

export async function runRemoteModify({ lib, flags, common }: Ctx, name: string, option: string, value?: string) {
  if (value === undefined && !flags.unset) {
    const { RvcError } = lib;
    throw new RvcError('USAGE', `no value given for '${option}'`, { hint: `rvc remote modify ${name} ${option} <value>, or --unset` });
  }
  await lib.remoteModify(name, option, value, { ...common, local: !!flags.local, unset: !!flags.unset });
}

export async function runRemoteRemove({ lib, out, common }: Ctx, name: string) {
  await lib.remoteRemove(name, common);
  out.info(`Removed remote '${name}'.`);
}

export async function runRemoteRename({ lib, out, common }: Ctx, a: string, b: string) {
  await lib.remoteRename(a, b, common);
  out.info(`Renamed remote '${a}' to '${b}'.`);
}
