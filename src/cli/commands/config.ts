import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('config'), { json: true })
    .description('get or set configuration: core.hash, core.remote, cache.type, cache.jobs, cache.dir, cache.shared, remote.<name>.<option>')
    .argument('[key]', 'section.key, e.g. cache.type')
    .argument('[value]', 'new value (omit to print the current one)')
    .option('--local', 'use .rvc/config.local.yaml (git-ignored; for credentials and machine settings)')
    .option('--unset', 'remove the key')
    .option('-l, --list', 'list every set key')
    .addHelpText('after', `
Examples:
  rvc config cache.type hardlink,copy
  rvc config core.remote storage
  rvc config --local remote.storage.profile work
  rvc config cache.dir /mnt/big/rvc-cache   (stored in config.local.yaml)
  rvc config --list`)
    .action(action(async ({ lib, out, flags, common }, key?: string, value?: string) => {
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
    }));
}
