import type { Ctx } from '../context.js';
import { EXIT } from '../exit.js';
import { plural, printFailures } from '../output.js';
import { scopeFrom } from '../scope.js';

async function cloud(ctx: Ctx): Promise<number> {
  const { lib, out, flags, common } = ctx;
  const r = await lib.fsckCloud({
    ...common, ...scopeFrom(flags), repair: !!flags.repair,
    ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}),
  });
  const damaged = r.corrupt.length + r.incomplete.length;
  if (flags.json) {
    out.json(r);
    return r.failedCount || (damaged && !r.repaired) ? EXIT.FAILURE : EXIT.OK;
  }
  const where = (o: { paths: string[]; key: string }): string => `${o.paths.length ? o.paths.join(', ') : o.key} (${o.key})`;
  const verb = r.repaired ? 'removed ' : '';
  // A corrupt copy inside a pack is not removed by itself: its pack is replaced (lines below).
  const gone = new Set(r.removed);
  for (const o of r.corrupt) out.info(`${gone.has(o.key) ? verb : ''}corrupt on remote '${r.remote}': ${where(o)}`);
  for (const o of r.incomplete) out.info(`${verb}manifest listing missing or corrupt objects on remote '${r.remote}': ${where(o)}`);
  for (const k of r.damagedPacks) if (!r.replacedPacks.some((p) => p.key === k)) out.info(`damaged pack on remote '${r.remote}': ${k}`);
  for (const p of r.replacedPacks) {
    out.info(`replaced damaged pack ${p.key} on remote '${r.remote}': wrote ${plural(p.rewritten, 'object')} it held into a new pack${p.lost.length ? `; ${p.lost.length} lost` : ''}`);
    for (const o of p.lost) out.info(`lost from remote '${r.remote}' (no good copy there or in this cache): ${o.paths.length ? `${o.paths.join(', ')} (${o.oid})` : o.oid}`);
  }
  if (r.revisions?.length) out.detail(`scope: the workspace and ${plural(r.revisions.length, 'revision')}`);
  const notThere = r.missing ? `; ${plural(r.missing, 'object')} of the scope ${r.missing === 1 ? 'is' : 'are'} not on the remote (\`rvc push\` uploads them)` : '';
  out.info(`Checked ${plural(r.checked + r.corrupt.length, 'object')} on remote '${r.remote}': ${damaged ? `${r.corrupt.length} corrupt, ${plural(r.incomplete.length, 'incomplete manifest')}` : 'all good'}${notThere}.`);
  if (r.failedCount) {
    const hints = printFailures(out, r);
    out.error(`${plural(r.failedCount, 'object')} could not be checked`, hints.join('; '));
    return EXIT.FAILURE;
  }
  if (!damaged) return EXIT.OK;
  if (r.repaired) {
    const lost = r.replacedPacks.reduce((n, p) => n + p.lost.length, 0);
    out.info(`Removed ${plural(r.removed.length + r.replacedPacks.length, 'object')} from remote '${r.remote}'${r.replacedPacks.length ? ` (${plural(r.replacedPacks.length, 'damaged pack')} among them)` : ''}; run \`rvc push\` from a clone whose cache has good copies to upload ${lost ? `the ${plural(lost, 'lost object')} and the rest` : 'them'} again.`);
    return EXIT.OK;
  }
  out.error(`remote '${r.remote}' holds ${plural(damaged, 'damaged object')}; \`rvc push\` will not replace ${damaged === 1 ? 'it' : 'them'}`,
    'from a clone whose cache has good copies (check it with `rvc fsck`), run `rvc fsck --cloud --repair` to remove them from the remote, then `rvc push`');
  return EXIT.FAILURE;
}

export async function runFsck(ctx: Ctx) {
  const { lib, out, flags, common } = ctx;
  if (flags.cloud) return cloud(ctx);
  const stray = ['remote', 'jobs', 'allBranches', 'allTags', 'allCommits', 'rev'].find((k) => flags[k] !== undefined);
  if (stray) {
    throw new lib.RvcError('USAGE', `--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} only applies to \`rvc fsck --cloud\``, {
      hint: 'add --cloud to check the remote, or drop the option to check the local cache',
    });
  }
  const r = await lib.fsck({ ...common, repair: !!flags.repair });
  if (flags.json) {
    out.json(r);
    return r.corrupt.length && !r.repaired ? EXIT.FAILURE : EXIT.OK;
  }
  for (const oid of r.corrupt) out.info(`${r.repaired ? 'removed corrupt' : 'corrupt'}: ${oid}`);
  if (r.leftovers.length) out.info(`${r.repaired ? 'Removed' : 'Found'} ${plural(r.leftovers.length, 'temporary file')} of interrupted writes.`);
  if (!r.corrupt.length) {
    out.info(`Checked ${plural(r.checked, 'object')}: all good.`);
    return EXIT.OK;
  }
  if (r.repaired) {
    out.info(`Removed ${plural(r.corrupt.length, 'corrupt object')}; fetch them again with \`rvc pull\` or re-add the data.`);
    return EXIT.OK;
  }
  out.error(`${plural(r.corrupt.length, 'corrupt object')} in the cache`, 'run `rvc fsck --repair` to remove them, then `rvc pull` or re-add the data');
  return EXIT.FAILURE;
}
