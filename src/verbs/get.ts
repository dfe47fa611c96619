import path from 'node:path';
import { RvcError } from '../errors.js';
import type { Remote } from '../remote/remote.js';
import { openHistory } from '../repo/history.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { findOutput, sideAt } from '../repo/outputs.js';
import { materialise, refuseInternalDest, remoteFetcher, type ObjectSource } from '../repo/materialise.js';
import { isDir } from '../fsutil/stat.js';

export interface GetOptions extends CommonOptions {
  /** A tracked path (or a file/folder inside a tracked folder), relative to `cwd`. */
  path: string;
  /** Git revision; default: the pointers in the workspace as they are now. */
  rev?: string;
  /** Destination; an existing folder receives the output under its own name. Default: its name in `cwd`. */
  out?: string;
  force?: boolean;
  /** Remote to fetch missing objects from; default: core.remote (if set). */
  remote?: string;
}

export interface GetResult {
  /** The tracked path that was written, repository-relative. */
  path: string;
  /** The revision as given, or 'workspace'. */
  rev: string;
  /** The commit it resolved to (absent for the workspace). */
  commit?: string;
  /** Absolute destination. */
  out: string;
  kind: 'file' | 'dir';
  files: number;
  bytes: number;
  fetched: number;
}

/**
 * `rvc get --rev <rev> <path> [-o out]`: writes a tracked path as it was at a revision somewhere
 * else, reading the pointers from git objects. The workspace, HEAD and the index are not
 * touched; objects the cache lacks are fetched (verified) from the remote into the cache.
 */
export async function get(opts: GetOptions): Promise<GetResult> {
  const cwd = opts.cwd ?? process.cwd();
  const repo = Repo.open(cwd);
  const { rel } = repo.resolve(opts.path, cwd);
  const history = opts.rev !== undefined ? openHistory(repo.root) : undefined;
  let side;
  try {
    side = await sideAt(repo, history, opts.rev);
  } finally {
    history?.close();
  }
  const hit = findOutput(side.outs, rel);
  if (!hit || rel === '') {
    throw new RvcError('NOT_TRACKED', `'${opts.path}' is not tracked by rvc ${side.commit ? `at ${side.label}` : 'in the workspace'}`, {
      path: opts.path,
      hint: 'name an output of a .rvc pointer or of rvc.lock, or a file or folder inside a tracked folder (files git tracks: `git show <rev>:<path>`)',
    });
  }
  const shownRel = hit.subpath ? `${hit.output.rel}/${hit.subpath}` : hit.output.rel;
  const name = path.posix.basename(hit.subpath ?? hit.output.rel);
  if (opts.out !== undefined) refuseInternalDest(opts.out);
  let dest = path.resolve(cwd, opts.out ?? name);
  if (opts.out !== undefined && isDir(dest)) dest = path.join(dest, name);
  refuseDangerousDest(repo, dest);

  const odb = repo.odbFor(hit.output.out.hash);
  let opened: { name: string; remote: Remote } | undefined;
  const remoteName = opts.remote ?? repo.config.core.remote;
  const src: ObjectSource = { odb, ...(remoteName ? { describe: `remote '${remoteName}'` } : {}) };
  if (remoteName) {
    src.fetch = async (oids) => {
      if (!opened) {
        const { openRepoRemote } = await import('../repo/remotes.js');
        opened = await openRepoRemote(repo, remoteName);
      }
      await remoteFetcher(odb, opened.remote, opts.onProgress ? { onProgress: opts.onProgress } : {})(oids);
    };
  }
  try {
    const r = await materialise(hit.output.out, hit.subpath, dest, src, {
      label: side.commit ? `'${shownRel}' at ${side.label}` : `'${shownRel}'`,
      ...(opts.force ? { force: true } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    return {
      path: shownRel, rev: side.label, ...(side.commit ? { commit: side.commit } : {}),
      out: r.dest, kind: r.kind, files: r.files, bytes: r.bytes, fetched: r.fetched,
    };
  } finally {
    await opened?.remote.close();
  }
}


/** The destination must not be inside `.git` or `.rvc`, nor the repository or a folder holding it. */
function refuseDangerousDest(repo: Repo, dest: string): void {
  const inRepo = path.relative(repo.root, dest);
  if (!inRepo.startsWith('..') && !path.isAbsolute(inRepo)) refuseInternalDest(inRepo);
  const up = path.relative(dest, repo.root);
  if (up === '' || (!up.startsWith('..') && !path.isAbsolute(up))) {
    throw new RvcError('PATH_OVERLAPS', `'${dest}' contains the repository itself`, { path: dest, hint: 'choose another destination with -o' });
  }
}
