import { targetFlagsFrom } from '../scope.js';
import type { Ctx } from '../context.js';

export async function runCommit({ lib, out, flags, common }: Ctx, targets: string[]) {
  const r = await lib.commit({ ...common, targets, ...targetFlagsFrom(flags) });
  if (flags.json) return out.json(r);
  const changed = r.committed.filter((c) => c.changed);
  for (const c of changed) out.info(`Committed ${c.path} → ${c.stage !== undefined ? `${c.pointerFile} (stage '${c.stage}')` : c.pointerFile}`);
  // A stage without outputs (or whose outputs are as recorded) can still get a new entry.
  const stagesAlone = (r.stages ?? []).filter((s) => !changed.some((c) => c.stage === s));
  for (const s of stagesAlone) out.info(`Committed stage '${s}' (its dependencies and params as they are now)`);
  const skipped = r.skipped ?? [];
  if (skipped.length) {
    const shown = skipped.slice(0, 5).join(', ') + (skipped.length > 5 ? `, … (${skipped.length})` : '');
    out.info(`Left as they are (inputs changed, or an output missing): ${shown}; \`rvc repro\` runs them, \`rvc commit <stage>\` records one as it is.`);
  }
  const stored = r.committed.filter((c) => c.stored && !c.changed);
  for (const c of stored) out.info(`Stored ${c.path} in the cache (stage '${c.stage}', already recorded in ${c.pointerFile})`);
  if (!changed.length && !stagesAlone.length && !stored.length) out.info('Nothing to commit: the pointers and rvc.lock files already match the workspace.');
  else if (r.toGit.length) {
    out.info('');
    out.info('To track the changes with git, run:');
    out.info(`    git add ${r.toGit.join(' ')}`);
  }
}
