import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

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
    .action(lazyAction(() => import('../actions/config.js'), 'runConfig'));
}
