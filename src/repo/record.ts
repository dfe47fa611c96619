/** Recording an output that was just stored in the cache (add, commit, repro). */
import type { PointerOut } from '../model/pointer.js';
import type { BuiltOut } from '../odb/build.js';
import { checkoutOut } from '../odb/checkout.js';
import type { CommonOptions, Repo } from './repo.js';
import { effectiveLinkType, noteLinkUse } from './links.js';

export interface AddedOut {
  path: string;
  pointerFile: string;
  oid: string;
  size: number;
  nfiles?: number;
  /** False when the pointer already recorded exactly this content. */
  changed: boolean;
}

export function outFromBuilt(name: string, algo: PointerOut['hash'], b: BuiltOut): PointerOut {
  const out: PointerOut = { path: name, hash: algo, oid: b.oid, size: b.size };
  if (b.nfiles !== undefined) out.nfiles = b.nfiles;
  if (b.exec) out.exec = true;
  return out;
}

/**
 * With a link type other than copy, the workspace files are replaced by links to the cache (so
 * the data is stored once). With copy the workspace already holds the same bytes.
 */
export function relinkFromCache(repo: Repo, t: { abs: string; rel: string }, out: PointerOut, state: ReturnType<Repo['stateFor']>, opts: CommonOptions = {}): void {
  if (effectiveLinkType(repo) === 'copy') return;
  const r = checkoutOut({ abs: t.abs, repoRel: t.rel, oid: out.oid, ...(out.exec ? { exec: true } : {}) }, {
    odb: repo.odb, state, ignore: repo.ignore, repoRoot: repo.root, linkTypes: repo.linkTypes, relink: true, onlyMatching: true,
    ...(repo.recoveredFromCrash ? { sweepTemps: true } : {}),
  });
  noteLinkUse(repo, r.linkType, opts);
  if (r.kept?.length) {
    const shown = r.kept.slice(0, 5).map((p) => (p ? `${t.rel}/${p}` : t.rel)).join(', ') + (r.kept.length > 5 ? ` and ${r.kept.length - 5} more` : '');
    const was = r.kept.length > 1 ? 'they were left as they are (not linked to the cache) and show' : 'it was left as it is (not linked to the cache) and shows';
    opts.onWarning?.(`${shown} changed after being stored, so ${was} as modified`);
  }
}
