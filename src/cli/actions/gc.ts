import { fmtBytes, plural } from '../output.js';
import { scopeFrom } from '../scope.js';
import type { Ctx } from '../context.js';
import { EXIT } from '../exit.js';

function runEntries(n: number): string {
  return `${n} run-cache ${n === 1 ? 'entry' : 'entries'}`;
}

export async function runGc({ lib, out, flags, common }: Ctx) {
  const r = await lib.gc({
    ...common, ...scopeFrom(flags), workspace: !!flags.workspace, dryRun: !!flags.dryRun || !!flags.dry, cloud: !!flags.cloud,
    ...(flags.repack ? { repack: true } : {}),
    ...(flags.keepRunCache ? { keepRunCache: true } : {}),
    ...(flags.remote ? { remote: String(flags.remote) } : {}),
  });
  // A damaged pack left on the remote is damage to act on: gc did the rest, but says so and fails.
  const damagedPacks = r.cloud?.packs.damaged ?? [];
  if (flags.json) {
    out.json(r);
    return damagedPacks.length ? EXIT.FAILURE : EXIT.OK;
  }
  // A dry run is for reading, so it lists every object; a real run lists them with -v.
  const list = r.dryRun ? out.info.bind(out) : out.detail.bind(out);
  for (const x of r.removed) list(`${r.dryRun ? 'would remove' : 'removed'} ${x.algo}/${x.oid.slice(0, 2)}/${x.oid.slice(2)} (${fmtBytes(x.size)})`);
  for (const e of r.runs.removed) out.detail(`${r.dryRun ? 'would remove' : 'removed'} run-cache entry ${e.entry}${e.damaged ? ' (damaged)' : ` (${e.outs.join(', ')})`}`);
  if (r.cloud && r.dryRun) for (const k of r.cloud.removed) list(`would remove ${k} from remote '${r.cloud.remote}'`);
  if (r.cloud) {
    for (const p of r.cloud.packs.removed) {
      list(`${r.dryRun ? 'would remove' : 'removed'} pack packs/${p.algo}/${p.id} (${p.action === 'repacked' ? `repacked, ${fmtBytes(p.size)}` : p.action === 'dead' ? `no live object, ${fmtBytes(p.size)}` : `${p.action}, ${fmtBytes(p.size)}`}) from remote '${r.cloud.remote}'`);
    }
  }
  if (r.cloud) for (const k of r.cloud.runs.removed) out.detail(`${r.dryRun ? 'would remove' : 'removed'} run-cache entry ${k} from remote '${r.cloud.remote}'`);
  if (r.revisions.length) out.detail(`scope: the workspace and ${plural(r.revisions.length, 'revision')} (${r.revisions.slice(0, 5).join(', ')}${r.revisions.length > 5 ? ', …' : ''})`);
  if (r.fetchedManifests) out.info(`Fetched ${plural(r.fetchedManifests, 'manifest')} referenced in the scope from the remote.`);
  const verb = r.dryRun ? 'Would remove' : 'Removed';
  out.info(`${verb} ${plural(r.removed.length, 'object')} (${r.dryRun ? 'would free ' : ''}${fmtBytes(r.bytes)}); kept ${plural(r.kept, 'object')}.`);
  if (r.runs.removed.length) out.info(`${verb} ${runEntries(r.runs.removed.length)} whose outputs the scope does not keep; kept ${runEntries(r.runs.kept)}.`);
  if (r.cloud) out.info(`${verb} ${plural(r.cloud.removed.length, 'object')} from remote '${r.cloud.remote}'; kept ${plural(r.cloud.kept, 'object')} there.`);
  const pk = r.cloud?.packs;
  if (r.cloud && pk && (pk.removed.length || pk.written || pk.looseDropped)) {
    const dead = pk.removed.filter((p) => p.action === 'dead').length;
    const repacked = pk.removed.filter((p) => p.action === 'repacked').length;
    const orphans = pk.removed.filter((p) => p.action === 'orphan').length;
    const parts = [`${r.dryRun ? 'would delete' : 'deleted'} ${plural(dead, 'pack')} with no live object`, `${r.dryRun ? 'would repack' : 'repacked'} ${plural(repacked, 'sparse pack')}`];
    if (orphans) parts.push(`${r.dryRun ? 'would remove' : 'removed'} ${plural(orphans, 'orphan pack file')}`);
    const damaged = pk.removed.filter((p) => p.action === 'damaged').length;
    if (damaged) parts.push(`${r.dryRun ? 'would remove' : 'removed'} ${damaged} damaged ${damaged === 1 ? 'index' : 'indexes'}`);
    if (pk.packedLoose) parts.push(`${r.dryRun ? 'would pack' : 'packed'} ${plural(pk.packedLoose, 'loose object')}`);
    if (pk.looseDropped > pk.packedLoose) parts.push(`${r.dryRun ? 'would drop' : 'dropped'} ${pk.looseDropped - pk.packedLoose} loose ${pk.looseDropped - pk.packedLoose === 1 ? 'copy' : 'copies'} a pack also holds`);
    out.info(`Packs on remote '${r.cloud.remote}': ${parts.join(', ')}; ${r.dryRun ? 'would write' : 'wrote'} ${plural(pk.written, 'pack')}, ${r.dryRun ? 'would reclaim' : 'reclaimed'} ${fmtBytes(Math.max(0, pk.bytes))}; kept ${plural(pk.kept + pk.young, 'pack')}${pk.young ? ` (${pk.young} younger than a day, left alone)` : ''}.`);
  }
  if (r.cloud?.runs.removed.length) out.info(`${verb} ${runEntries(r.cloud.runs.removed.length)} from remote '${r.cloud.remote}'; kept ${runEntries(r.cloud.runs.kept)} there.`);
  if (r.cloud?.leftovers) out.info(`Cleaned ${plural(r.cloud.leftovers, 'temporary file')} of interrupted pushes from remote '${r.cloud.remote}'.`);
  if (r.leftovers) out.info(`${r.dryRun ? 'Would clean' : 'Cleaned'} ${plural(r.leftovers, 'temporary file')} of interrupted writes.`);
  for (const p of damagedPacks) {
    out.error(`pack ${p.key} on remote '${r.cloud!.remote}' is damaged: ${plural(p.unreadable.length, 'live object')} in it ${p.unreadable.length === 1 ? 'is' : 'are'} unreadable and not in the cache (${p.unreadable.slice(0, 3).join(', ')}${p.unreadable.length > 3 ? ', …' : ''}); gc left it in place`,
      'run `rvc fsck --cloud --repair` to save what it still holds and remove it, then `rvc push` from a clone that has the objects');
  }
  return damagedPacks.length ? EXIT.FAILURE : EXIT.OK;
}
