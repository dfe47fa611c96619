import type { HashAlgo } from '../model/oid.js';
import type { PointerOut } from '../model/pointer.js';
import type { Output, OutputSelection } from '../model/output.js';

/** Part of a tracked folder: its output and the sub-paths wanted. */
export interface PartialFolder {
  out: PointerOut;
  where: string;
  subpaths: string[];
  file: string;
  /** Recorded in the workspace (a sub-path that matches nothing there is the user's mistake). */
  workspace: boolean;
}

/**
 * The objects a command moves, keeps or compares, built once from the outputs in scope
 * whatever recorded them (pointers, rvc.lock, the run-cache): push, fetch, pull, status
 * --cloud, fsck --cloud and gc all start from one of these.
 */
export class ObjectSet {
  /** Whole outputs by algorithm: file and tree oids (the transfer engine expands trees). */
  readonly groups = new Map<HashAlgo, Set<string>>();
  /** Parts of folders. */
  readonly partial: PartialFolder[] = [];
  /** oid → paths that use it, for messages (at most three). */
  readonly paths = new Map<string, string[]>();
  /**
   * oids whose absence from cache and remote is not a failure: outputs of stages whose
   * rvc.yaml could not say whether they are cached, and run-cache outputs (an earlier run's,
   * kept only when its objects are at hand).
   */
  readonly optional = new Set<string>();
  /**
   * Outputs of `rvc import` pointers in the workspace: their data belongs to, and is restored
   * from, their source repository, never this project's remote. Imports recorded only at other
   * revisions are left out of every transfer.
   */
  readonly imports: Output[] = [];

  get empty(): boolean {
    return this.groups.size === 0 && this.partial.length === 0;
  }

  /** Adds whole objects. */
  add(algo: HashAlgo, oids: Iterable<string>): void {
    let set = this.groups.get(algo);
    if (!set) this.groups.set(algo, (set = new Set()));
    for (const o of oids) set.add(o);
  }

  has(algo: HashAlgo, oid: string): boolean {
    return this.groups.get(algo)?.has(oid) ?? false;
  }

  /** Names `oid` by `where` in messages (the first three names are kept). */
  note(oid: string, where: string): void {
    const list = this.paths.get(oid) ?? [];
    if (list.length < 3 && !list.includes(where)) list.push(where);
    this.paths.set(oid, list);
  }

  /**
   * The objects of the selected outputs. A `cache: false` output has nothing in the cache and
   * is left out; an import is set aside (see `imports`); part of a folder is kept as such. A
   * `push: false` output is left out of what push uploads (`forPush`: push and status --cloud)
   * and is optional otherwise: fetch and pull take it when the remote has it.
   */
  static of(selections: Iterable<OutputSelection>, opts: { forPush?: boolean } = {}): ObjectSet {
    const set = new ObjectSet();
    const partial = new Map<string, PartialFolder>();
    const required = new Set<string>();
    const importSeen = new Set<string>();
    for (const { output: o, subpath } of selections) {
      if (o.cached === false) continue;
      if (o.push === false && opts.forPush) continue;
      if (o.imported) {
        const k = `${o.file}\0${o.index ?? 0}`;
        if (o.commit === undefined && !importSeen.has(k)) {
          importSeen.add(k);
          set.imports.push(o);
        }
        continue;
      }
      if (subpath !== undefined) {
        const key = `${o.out.hash}\0${o.out.oid}\0${o.where}`;
        const e = partial.get(key) ?? { out: o.out, where: o.where, subpaths: [], file: o.file, workspace: o.commit === undefined };
        e.subpaths.push(subpath);
        partial.set(key, e);
        continue;
      }
      set.add(o.out.hash, [o.out.oid]);
      set.note(o.out.oid, o.where);
      (o.cached === undefined || o.kind === 'run' || o.push === false ? set.optional : required).add(o.out.oid);
    }
    for (const oid of required) set.optional.delete(oid);
    for (const p of partial.values()) set.partial.push(p);
    return set;
  }
}
