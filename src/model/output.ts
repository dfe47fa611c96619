import type { Pointer, PointerOut } from './pointer.js';

/**
 * Who records an output: a pointer file (`data.rvc`), a stage's entry in rvc.lock, or a
 * run-cache entry (an earlier run of a stage, kept so it can be restored without running).
 */
export type OutputKind = 'pointer' | 'stage' | 'run';

/**
 * One output the project records, in the workspace or at a git revision: the one shape every
 * command that lists, moves, keeps or compares tracked data works on.
 */
export interface Output {
  kind: OutputKind;
  /** Repository-relative POSIX path of the data. */
  rel: string;
  /** Repository-relative path of the file that records it: the pointer file, rvc.lock, or the run-cache entry. */
  file: string;
  /** What is recorded: algorithm, oid, size, file count, executable bit. */
  out: PointerOut;
  /** For messages: `data` in the workspace, `v1.0:data` at a revision. */
  where: string;
  /** The commit it was read at; undefined in the workspace. */
  commit?: string;
  /** The stage that produces it (stage and run-cache outputs). */
  stage?: string;
  /**
   * Whether its data belongs in the cache: false for a `cache: false` stage output, which only
   * git (or nothing) keeps; undefined when rvc.yaml could not tell (a stage it no longer has).
   */
  cached?: boolean;
  /**
   * `push: false` in rvc.yaml (stage outputs, and run-cache copies of their paths): `rvc push`
   * does not upload its objects, and fetch, pull and status --cloud do not expect them on the
   * remote.
   */
  push?: false;
  /**
   * `remote:` in rvc.yaml: the remote this output is pushed to and fetched from instead of the
   * default one (a command given `-r` other than it leaves the output out).
   */
  remote?: string;
  /** Pointer outputs: the whole pointer and this output's index in it. */
  pointer?: Pointer;
  index?: number;
  /** Recorded by an `rvc import` pointer: the data belongs to another repository. */
  imported?: boolean;
}

/** An output a target selects, whole or (a path inside a tracked folder) in part. */
export interface OutputSelection {
  output: Output;
  /** Only this part of a tracked folder is wanted. */
  subpath?: string;
}
