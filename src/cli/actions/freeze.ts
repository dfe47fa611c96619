import type { Ctx } from '../context.js';

async function run(frozen: boolean, { lib, out, flags, common }: Ctx, stages: string[]): Promise<void> {
    const r = await (frozen ? lib.freeze : lib.unfreeze)(stages, common);
    if (flags.json) return out.json(r);
    for (const s of r.stages) out.info(s.changed ? `${frozen ? 'Froze' : 'Unfroze'} stage '${s.name}'` : `Stage '${s.name}' is ${frozen ? 'already frozen' : 'not frozen'}`);
    if (r.files.length) {
      out.info('');
      out.info('To track the change with git, run:');
      out.info(`    git add ${r.files.join(' ')}`);
    }
  }

export const runFreeze = (ctx: Ctx, stages: string[]): Promise<void> => run(true, ctx, stages);
export const runUnfreeze = (ctx: Ctx, stages: string[]): Promise<void> => run(false, ctx, stages);
