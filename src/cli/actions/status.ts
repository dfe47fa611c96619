import { statusExitCode } from '../exit.js';
import { plural } from '../output.js';
import { describeReasons, describeDrift } from './repro.js';
import { scopeFrom, targetFlagsFrom } from '../scope.js';
import type { Ctx } from '../context.js';

export async function runStatus({ lib, out, flags, common }: Ctx, targets: string[]) {
  const scope = scopeFrom(flags);
  if (!flags.cloud && Object.keys(scope).length) {
    throw new lib.RvcError('USAGE', 'revision scopes (--all-branches, --all-tags, --all-commits, --rev) apply only to `status --cloud`', {
      hint: 'add --cloud to compare the data recorded at those revisions with a remote',
    });
  }
  if (flags.cloud) {
    const c = await lib.statusCloud({ ...common, ...scope, targets, ...targetFlagsFrom(flags), ...(flags.remote ? { remote: String(flags.remote) } : {}) });
    if (flags.json) return out.json(c);
    const changed = c.objects.filter((o) => o.state !== 'in sync');
    if (flags.quiet) return statusExitCode(flags, !changed.length);
    if (!changed.length) return out.info(`Cache and remote '${c.remote}' are in sync.`);
    for (const o of changed.slice(0, flags.verbose ? undefined : 50)) out.info(`    ${o.state.padEnd(9)} ${o.paths[0] ?? o.oid}`);
    if (!flags.verbose && changed.length > 50) out.info(`    … and ${changed.length - 50} more (-v lists all)`);
    out.info(`new: ${c.counts.new}, deleted: ${c.counts.deleted}, missing: ${c.counts.missing}, in sync: ${c.counts['in sync']} (remote '${c.remote}')`);
    return;
  }
  const r = await lib.status({ ...common, targets, ...targetFlagsFrom(flags) });
  const ps = r.pipeline;
  if (flags.json) return out.json(r);
  if (flags.quiet) return statusExitCode(flags, r.clean && (!ps || ps.clean));
  if (ps) {
    for (const st of ps.stages.filter((x) => x.state === 'stale')) {
      out.info(`${st.name}:`);
      for (const l of describeReasons(st.reasons)) out.info(`    ${l}`);
      if (st.environment && !st.reasons.some((x) => x.kind === 'environment-changed')) out.info(`    environment (informational): ${describeDrift(st.environment)}`);
    }
    for (const st of ps.stages.filter((x) => x.state !== 'stale' && x.environment)) {
      out.info(`${st.name}: environment differs from its last run (informational): ${describeDrift(st.environment!)}`);
    }
    if (!ps.clean) {
      const missing = ps.stages.some((st) => st.state === 'stale' && st.reasons.some((x) => x.kind === 'out-missing' || x.kind === 'dep-missing'));
      out.info(`Use \`rvc repro\` to bring the stale stages up to date${missing ? ' (`rvc pull` brings missing outputs and data as recorded, when a remote has them)' : ''}.`);
    }
    else if (ps.stages.length) out.info('Pipelines are up to date.');
    if (r.outs.length === 0) return;
    out.info('');
  }
  if (r.outs.length === 0) return out.info('No data is tracked yet. Track some with `rvc add <path>`.');
  if (r.clean) return out.info('Data is up to date.');
  for (const o of r.outs) {
    if (o.workspace === 'unchanged' && o.inCache) {
      out.detail(`    ${o.path}: unchanged`);
      continue;
    }
    const parts: string[] = [];
    if (o.workspace !== 'unchanged') {
      const c = o.changes;
      parts.push(c ? `${o.workspace} (${c.added.length} added, ${c.modified.length} modified, ${c.deleted.length} deleted)` : o.workspace);
    }
    if (!o.inCache) parts.push('not in the local cache');
    out.info(`${o.pointerFile}:`);
    out.info(`    ${o.path}: ${parts.join(', ')}`);
    if (o.changes) {
      const lines = [
        ...o.changes.added.map((p) => `        added:    ${p}`),
        ...o.changes.modified.map((p) => `        modified: ${p}`),
        ...o.changes.deleted.map((p) => `        deleted:  ${p}`),
      ];
      const limit = flags.verbose ? lines.length : 10;
      for (const l of lines.slice(0, limit)) out.info(l);
      if (lines.length > limit) out.info(`        … and ${plural(lines.length - limit, 'more change')} (-v lists all)`);
    }
  }
  // Data neither in the workspace nor in the cache (a fresh clone): only a remote has it.
  const notPulled = r.outs.filter((o) => o.workspace === 'deleted' && !o.inCache);
  const changed = r.outs.filter((o) => !(o.workspace === 'unchanged' && o.inCache) && !notPulled.includes(o));
  out.info('');
  if (notPulled.length) out.info('Use `rvc pull` to get the data that is not in the local cache (`rvc fetch` only downloads it into the cache).');
  if (changed.length) out.info('Use `rvc commit` to record changes, or `rvc checkout` to restore the recorded data.');
}
