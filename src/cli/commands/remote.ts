import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  const remote = program.command('remote').description('manage remotes: where `rvc push` and `rvc pull` send and get data');
  withGlobals(remote.command('add'))
    .description('add a remote: a folder path, file://, s3://bucket/prefix or gs://bucket/prefix')
    .argument('<name>').argument('<url>')
    .option('-d, --default', 'make it the default remote')
    .option('--local', 'store it in the git-ignored .rvc/config.local.yaml')
    .option('-f, --force', 'replace a remote of the same name')
    .action(lazyAction(() => import('../actions/remote.js'), 'runRemoteAdd'));
  withGlobals(remote.command('list'), { json: true })
    .description('list remotes (secrets masked)')
    .action(lazyAction(() => import('../actions/remote.js'), 'runRemoteList'));
  withGlobals(remote.command('default'))
    .description('show or set the default remote')
    .argument('[name]')
    .option('--unset', 'clear the default')
    .option('--local', 'store the setting in .rvc/config.local.yaml')
    .action(lazyAction(() => import('../actions/remote.js'), 'runRemoteDefault'));
  withGlobals(remote.command('modify'))
    .description('set an option of a remote: url, endpointurl, region, profile, jobs, projectid, credentialpath, connecttimeout, readtimeout, retries, requestretries, headthreshold, pagesize, partsize, resumablethreshold, access_key_id, secret_access_key, session_token')
    .argument('<name>').argument('<option>').argument('[value]')
    .option('--local', 'store it in .rvc/config.local.yaml (required for secrets)')
    .option('--unset', 'remove the option')
    .action(lazyAction(() => import('../actions/remote.js'), 'runRemoteModify'));
  withGlobals(remote.command('remove'))
    .description('remove a remote from the configuration (its data is not touched)')
    .argument('<name>')
    .action(lazyAction(() => import('../actions/remote.js'), 'runRemoteRemove'));
  withGlobals(remote.command('rename'))
    .description('rename a remote')
    .argument('<old>').argument('<new>')
    .action(lazyAction(() => import('../actions/remote.js'), 'runRemoteRename'));
}
