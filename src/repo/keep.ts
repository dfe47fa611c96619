/** What a scope keeps in the cache (gc, and gc --cloud on the remote). */
import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { isTreeOid, type HashAlgo } from '../model/oid.js';
import type { Repo } from './repo.js';
import type { RevScope } from './history.js';
import { scopedOutputs } from './outputs.js';
import { listRunEntries, parseRunEntry, runObjectKey } from './run-cache.js';

/** The oids a scope keeps, per hash algorithm. */
export type KeepSet = Map<HashAlgo, Set<string>>;

export function keepFor(keep: KeepSet, algo: HashAlgo): Set<string> {
  let s = keep.get(algo);
  if (!s) keep.set(algo, (s = new Set()));
  return s;
}

/**
 * Every oid the scope references, per algorithm: the pointer outputs of the workspace and of
 * each revision in the scope, the rvc.lock outputs of the workspace and of those revisions, and
 * with `runCache` every run-cache entry's outputs. Folders expand to their files. A pointer's manifest missing from the cache is
 * fetched (alone, verified) from the remote; if that fails gc refuses, naming the revision and
 * path: without the manifest its files could not be told apart from garbage.
 */
export async function referencedOids(repo: Repo, scope: RevScope, opts: { remote?: string; jobs?: number; runCache?: boolean; cloud?: boolean } = {}): Promise<{ keep: KeepSet; revisions: string[]; fetched: number }> {
  const keep: KeepSet = new Map();
  keepFor(keep, repo.odb.algo);
  const { outs, revisions } = await scopedOutputs(repo, scope, { runCache: !!opts.runCache });
  const expanded = new Set<string>();
  const expand = (algo: HashAlgo, oid: string): void => {
    if (expanded.has(`${algo}:${oid}`)) return;
    expanded.add(`${algo}:${oid}`);
    const k = keepFor(keep, algo);
    for (const e of repo.odbFor(algo).readTree(oid)) k.add(e.oid);
  };
  // A stage output's manifest missing here is asked for only by gc --cloud, which would
  // otherwise delete the remote's copies of its files; local gc keeps its old rule.
  // `required`: a pointer's manifest was in a cache once (add stores it first); a stage output's
  // may never have been (`cache: false` at a revision whose rvc.yaml does not parse, a run whose
  // outputs were never pushed), so one the remote lacks too is not an error — but one that could
  // not be asked for is, or gc would delete the remote's copies of its files.
  const missing = new Map<string, { algo: HashAlgo; oid: string; where: string[]; required: boolean }>();
  for (const { output: o } of outs) {
    const { hash: algo, oid } = o.out;
    keepFor(keep, algo).add(oid);
    if (!isTreeOid(oid) || o.cached === false) continue;
    if (repo.odbFor(algo).hasSync(oid)) expand(algo, oid);
    else if (o.kind === 'pointer' || opts.cloud) {
      const m = missing.get(`${algo}:${oid}`) ?? { algo, oid, where: [], required: false };
      m.where.push(`${o.where} (${o.file})`);
      if (o.kind === 'pointer') m.required = true;
      missing.set(`${algo}:${oid}`, m);
    }
  }
  let fetched = 0;
  if (missing.size) {
    const { fetchManifests } = await import('./sync.js');
    const r = await fetchManifests(repo, [...missing.values()], opts);
    const absent = new Set<string>();
    for (const f of r.failed) {
      const m = missing.get(`${f.algo}:${f.oid}`)!;
      if (!m.required && f.code === 'OBJECT_MISSING') absent.add(`${f.algo}:${f.oid}`);
    }
    const failed = r.failed.filter((f) => !absent.has(`${f.algo}:${f.oid}`));
    const first = failed[0];
    if (first) {
      const m = missing.get(`${first.algo}:${first.oid}`)!;
      const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
      throw new RvcError('OBJECT_MISSING', `the manifest of ${m.where[0]}${more} is not in the cache and could not be fetched${r.remote ? ` from remote '${r.remote}'` : ''}: ${first.message}; gc cannot tell which files it needs, so it removed nothing`, {
        hint: 'fetch it (`rvc fetch` with the same scope), or narrow the scope; a pointer whose data is gone for good must be removed from that revision',
      });
    }
    fetched = r.fetched;
    for (const [k, m] of missing) if (!absent.has(k)) expand(m.algo, m.oid);
  }
  return { keep, revisions, fetched };
}


/** A run-cache entry as gc judges it. */
export interface RunEntryJudged {
  /** Its key under the cache folder (and on a remote): `runs/<algo>/<ab>/<rest>`. */
  entry: string;
  /** The paths of the outputs it records (none when damaged). */
  outs: string[];
  /** It does not parse (or cannot be read): it records nothing and is never used. */
  damaged?: true;
  /** Absolute path, and the text judged (removal checks it is unchanged). */
  file: string;
  text: string;
}

/**
 * Splits the local run-cache into the entries `keep` keeps and the others. An entry is live
 * when every output it records (its oid: a file's object or a folder's manifest) is in `keep`,
 * the keep set of the scope computed without the run-cache, plus the objects running commands
 * have pinned. An entry that does not parse is dead: it records nothing and is never used. The
 * objects of a live entry are in `keep` by definition, so dropping the dead ones leaves exactly
 * the objects only they held unreferenced.
 */
export function judgeRunEntries(repo: Repo, keep: KeepSet): { live: RunEntryJudged[]; dead: RunEntryJudged[] } {
  const live: RunEntryJudged[] = [];
  const dead: RunEntryJudged[] = [];
  for (const e of listRunEntries(repo)) {
    const entry = runObjectKey(e.algo, e.key);
    let text: string;
    try {
      text = fs.readFileSync(e.file, 'utf8');
    } catch {
      continue; // removed meanwhile, or unreadable: left alone
    }
    try {
      const st = parseRunEntry(text, e.algo, e.key, path.relative(repo.root, e.file));
      const j: RunEntryJudged = { entry, outs: st.outs.map((o) => o.path), file: e.file, text };
      (st.outs.every((o) => keep.get(o.hash)?.has(o.oid)) ? live : dead).push(j);
    } catch {
      dead.push({ entry, outs: [], damaged: true, file: e.file, text });
    }
  }
  return { live, dead };
}
