import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  for (const frozen of [true, false]) {
    const verb = frozen ? 'freeze' : 'unfreeze';
    withGlobals(program.command(verb), { json: true })
      .description(frozen
        ? 'set `frozen: true` on stages of rvc.yaml: repro and status leave them as they are'
        : 'remove `frozen: true` from stages of rvc.yaml')
      .argument('<stages...>', 'stages (`train`, `sub/rvc.yaml:train`, `sub:train`; a foreach group as a whole)')
      .action(lazyAction(() => import('../actions/freeze.js'), frozen ? 'runFreeze' : 'runUnfreeze'));
  }
}
