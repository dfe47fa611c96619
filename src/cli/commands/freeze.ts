import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  for (const frozen of [true, false]) {
    const verb = frozen ? 'freeze' : 'unfreeze';
    withGlobals(program.command(verb), { json: true })
      .description(frozen
        ? 'set `frozen: true` on stages of rvc.yaml: repro and status leave them as they are'
        : 'remove `frozen: true` from stages of rvc.yaml')
      .argument('<stages...>', 'stages (`train`, `sub/rvc.yaml:train`, `sub:train`; a foreach group as a whole)')
      .action(action(async ({ lib, out, flags, common }, stages: string[]) => {
        const r = await (frozen ? lib.freeze : lib.unfreeze)(stages, common);
        if (flags.json) return out.json(r);
        for (const s of r.stages) out.info(s.changed ? `${frozen ? 'Froze' : 'Unfroze'} stage '${s.name}'` : `Stage '${s.name}' is ${frozen ? 'already frozen' : 'not frozen'}`);
        if (r.files.length) {
          out.info('');
          out.info('To track the change with git, run:');
          out.info(`    git add ${r.files.join(' ')}`);
        }
      }));
  }
}
