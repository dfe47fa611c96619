import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  const remote = program.command('remote').description('manage remotes: where `rvc push` and `rvc pull` send and get data');
  withGlobals(remote.command('add'))
    .description('add a remote: a folder path, file://, s3://bucket/prefix or gs://bucket/prefix')
    .argument('<name>').argument('<url>')
    .option('-d, --default', 'make it the default remote')
    .option('--local', 'store it in the git-ignored .rvc/config.local.yaml')
    .option('-f, --force', 'replace a remote of the same name')
    .action(action(async ({ lib, out, flags, common }, name: string, url: string) => {
      const r = await lib.remoteAdd(name, url, { ...common, makeDefault: !!flags.default, local: !!flags.local, force: !!flags.force });
      out.info(`Added remote '${r.name}' → ${r.url}${r.isDefault ? ' (default)' : ''}`);
    }));
  withGlobals(remote.command('list'), { json: true })
    .description('list remotes (secrets masked)')
    .action(action(async ({ lib, out, flags, common }) => {
      const list = await lib.remoteList(common);
      if (flags.json) return out.json(list);
      if (!list.length) return out.info('No remotes. Add one with `rvc remote add -d <name> <url>`.');
      for (const r of list) {
        const extra = Object.entries(r.options).map(([k, v]) => `${k}=${String(v)}`).join(' ');
        out.info(`${r.name}\t${r.url}${r.isDefault ? '\t(default)' : ''}${extra ? `\t${extra}` : ''}`);
      }
    }));
  withGlobals(remote.command('default'))
    .description('show or set the default remote')
    .argument('[name]')
    .option('--unset', 'clear the default')
    .option('--local', 'store the setting in .rvc/config.local.yaml')
    .action(action(async ({ lib, out, flags, common }, name?: string) => {
      const r = await lib.remoteDefault(name, { ...common, unset: !!flags.unset, local: !!flags.local });
      if (name === undefined && !flags.unset) out.info(r ?? '(no default remote)');
    }));
  withGlobals(remote.command('modify'))
    .description('set an option of a remote: url, endpointurl, region, profile, jobs, projectid, credentialpath, connecttimeout, readtimeout, retries, requestretries, headthreshold, pagesize, partsize, resumablethreshold, access_key_id, secret_access_key, session_token')
    .argument('<name>').argument('<option>').argument('[value]')
    .option('--local', 'store it in .rvc/config.local.yaml (required for secrets)')
    .option('--unset', 'remove the option')
    .action(action(async ({ lib, flags, common }, name: string, option: string, value?: string) => {
      if (value === undefined && !flags.unset) {
        const { RvcError } = lib;
        throw new RvcError('USAGE', `no value given for '${option}'`, { hint: `rvc remote modify ${name} ${option} <value>, or --unset` });
      }
      await lib.remoteModify(name, option, value, { ...common, local: !!flags.local, unset: !!flags.unset });
    }));
  withGlobals(remote.command('remove'))
    .description('remove a remote from the configuration (its data is not touched)')
    .argument('<name>')
    .action(action(async ({ lib, out, common }, name: string) => {
      await lib.remoteRemove(name, common);
      out.info(`Removed remote '${name}'.`);
    }));
  withGlobals(remote.command('rename'))
    .description('rename a remote')
    .argument('<old>').argument('<new>')
    .action(action(async ({ lib, out, common }, a: string, b: string) => {
      await lib.remoteRename(a, b, common);
      out.info(`Renamed remote '${a}' to '${b}'.`);
    }));
}
