import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';
import { scopeOptions } from '../scope.js';

export function register(program: Command): void {
  scopeOptions(withGlobals(program.command('gc'), { json: true }), 'keep what is referenced')
    .description('delete cache objects that nothing in the chosen scope references')
    .option('-w, --workspace', 'keep what the pointers and lock files of the workspace reference (always kept with any other scope)')
    .option('--dry-run', 'list what would be removed and how much it would free; remove nothing')
    .option('--dry', 'the same as --dry-run')
    .option('--keep-run-cache', 'keep every run-cache entry and the objects it records (by default an entry goes when the scope does not keep all of its outputs)')
    .option('--all-experiments', 'accepted for scripts written for DVC: the data of every experiment (refs/exps/) is always kept; `rvc exp remove` first to let it go')
    .option('-f, --force', 'accepted and ignored: rvc gc never asks for confirmation (scripts written for DVC pass it)')
    .option('-c, --cloud', 'also delete unreferenced objects from the remote, and repack its packs that are mostly garbage')
    .option('--repack', 'with --cloud: also move the small loose objects the scope keeps on the remote into packs')
    .option('-r, --remote <name>', 'remote for --cloud and for fetching missing manifests (default: core.remote)')
    .action(lazyAction(() => import('../actions/gc.js'), 'runGc'));
}
