import { EXIT } from '../exit.js';
import { changeLetter } from '../output.js';
import { targetFlagsFrom } from '../scope.js';
import type { Ctx } from '../context.js';

export async function runCheckout({ lib, out, flags, common }: Ctx, targets: string[]) {
  const r = await lib.checkout({ ...common, targets, ...targetFlagsFrom(flags), force: !!flags.force, relink: !!flags.relink });
  const failed = r.failed;
  if (flags.json) {
    out.json(r);
    return failed ? EXIT.FAILURE : EXIT.OK;
  }
  let changed = 0;
  for (const o of r.outs) {
    if (o.error) {
      out.error(`${o.path}: ${o.error.message}`, o.error.hint);
      continue;
    }
    if (o.added + o.modified + o.deleted === 0 && !o.created) {
      out.detail(`    ${o.path}: unchanged`);
      continue;
    }
    changed++;
    const counts = o.created && o.added + o.modified + o.deleted === 0 ? 'empty folder' : `${o.added} added, ${o.modified} modified, ${o.deleted} deleted`;
    out.info(`${o.created ? 'A' : changeLetter(o)}       ${o.path} (${counts})`);
  }
  for (const p of r.removed) {
    changed++;
    out.info(`D       ${p}`);
  }
  if (!changed && !failed && !r.kept.length) out.info('Workspace already matches the pointers.');
  if (failed) {
    out.error(`${failed} of ${r.outs.length} outputs could not be checked out`);
    return EXIT.FAILURE;
  }
}
