import fs from 'node:fs';
import path from 'node:path';
import { RvcError, isRvcError } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil/atomic.js';
import { fetchData } from '../../repo/fetch-data.js';
import { workspaceOutputs } from '../../repo/outputs.js';
import { Repo, type CommonOptions } from '../../repo/repo.js';
import { restoreWorkspace, type CheckoutResult } from '../../repo/restore.js';
import { GitCatFile } from '../../scm/catfile.js';
import { runGit } from '../../scm/exec.js';
import { gitHead, gitToplevel } from '../../scm/git.js';
import { listExperimentRefs, requireExperiment, type ExperimentRef } from '../../scm/experiments.js';

export interface ExpApplyOptions extends CommonOptions {
  /** The experiment: its name, ref or commit id. */
  experiment: string;
  /** Overwrite unsaved edits in the files the experiment changes, and outputs whose changes are not in the cache. */
  force?: boolean;
  /** The remote missing outputs are fetched from; default core.remote. */
  remote?: string;
}

export interface ExpApplyResult {
  experiment: ExperimentRef;
  /** Files written into the work tree (paths relative to the git top level). */
  written: string[];
  /** Files the experiment does not have, removed from the work tree. */
  deleted: string[];
  /** The outputs placed from the cache. */
  checkout: CheckoutResult;
  /** Objects downloaded because the cache lacked them. */
  fetched: number;
}

const ZERO = /^0+$/;

interface Change {
  path: string;
  oldOid: string;
  newOid: string;
  newMode: string;
  status: string;
}

/**
 * `rvc exp apply <exp>`: makes the workspace hold the experiment. The files of the experiment's
 * commit that differ from HEAD (params, code, pointers, rvc.lock, metrics) are written into
 * the work tree only — read with git plumbing, never staged, HEAD and branches untouched — and
 * files it lacks are removed; then outputs are placed from the cache as `rvc checkout` does,
 * fetched from the remote first when the cache lacks them.
 *
 * Unsaved edits are refused, naming the files, unless `force`: a file the apply would change
 * whose content is neither HEAD's, the experiment's, nor that of another experiment of HEAD
 * (so applying one experiment after another is not refused).
 */
export async function applyExperiment(opts: ExpApplyOptions): Promise<ExpApplyResult> {
  let repo = Repo.open(opts.cwd);
  const top = gitToplevel(repo.root) ?? repo.root;
  const head = gitHead(repo.root);
  if (!head) throw new RvcError('REV_NOT_FOUND', 'this repository has no commit yet', { hint: 'commit the project first' });
  const experiment = requireExperiment(repo.root, opts.experiment);
  const changes = treeChanges(top, head, experiment.commit);
  if (!opts.force) {
    const unsaved = unsavedEdits(top, changes, listExperimentRefs(repo.root, head).map((e) => e.commit));
    if (unsaved.length) {
      throw new RvcError('CHECKOUT_WOULD_LOSE_DATA', `applying '${experiment.name}' would overwrite unsaved changes in ${unsaved.join(', ')}`, {
        path: unsaved[0]!, hint: `save them first (\`rvc exp save\` or git commit), or overwrite them with \`rvc exp apply -f ${experiment.name}\``,
      });
    }
  }
  const written: string[] = [];
  const deleted: string[] = [];
  const cat = new GitCatFile(top);
  try {
    for (const c of changes) {
      const abs = safeTarget(top, c.path);
      if (c.status === 'D') {
        const st = fs.lstatSync(abs, { throwIfNoEntry: false });
        if (st && !st.isDirectory()) {
          fs.rmSync(abs, { force: true });
          deleted.push(c.path);
        }
        continue;
      }
      if (c.newMode === '160000') continue; // a submodule: nothing to write
      const obj = await cat.read(c.newOid);
      if (!obj || obj.type !== 'blob') throw new RvcError('GIT_FAILED', `git object ${c.newOid} of '${c.path}' could not be read`, { path: c.path });
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      const st = fs.lstatSync(abs, { throwIfNoEntry: false });
      if (st?.isDirectory()) fs.rmSync(abs, { recursive: true, force: true });
      if (c.newMode === '120000') {
        fs.rmSync(abs, { force: true });
        fs.symlinkSync(obj.data.toString('utf8'), abs);
      } else {
        writeFileAtomic(abs, obj.data, { mode: c.newMode === '100755' ? 0o755 : 0o644 });
      }
      written.push(c.path);
    }
  } finally {
    cat.close();
  }
  // The pipeline files may have changed: read the project again.
  repo = Repo.open(opts.cwd);
  const restore = (): Promise<CheckoutResult> => repo.withLock('rvc exp apply', opts, async () => restoreWorkspace(repo, await workspaceOutputs(repo), opts.force ? { force: true } : {}));
  const missing = (r: CheckoutResult): string[] => r.outs.filter((o) => o.error?.code === 'OBJECT_MISSING').map((o) => o.path);
  let checkout: CheckoutResult | undefined;
  let lacking: string[] = [];
  try {
    checkout = await restore();
    lacking = missing(checkout);
  } catch (e) {
    if (!isRvcError(e) || e.code !== 'OBJECT_MISSING') throw e;
    // One output failed and said so by throwing: name every output whose object the cache lacks.
    lacking = (await workspaceOutputs(repo)).filter((o) => o.cached !== false && !repo.odbFor(o.out.hash).hasSync(o.out.oid)).map((o) => o.rel);
    if (!lacking.length) lacking = [e.path ?? 'an output'];
  }
  let fetched = 0;
  if (lacking.length) {
    try {
      const f = await fetchData(repo, { ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.remote ? { remote: opts.remote } : {}) });
      fetched = f.transferred ?? 0;
    } catch (e) {
      throw new RvcError('OBJECT_MISSING', `the data of ${lacking.join(', ')} (experiment '${experiment.name}') is not in the cache and could not be fetched: ${isRvcError(e) ? e.message : String(e)}`, {
        path: lacking[0]!, cause: e, hint: 'configure the remote that holds it (`rvc remote add -d …`), then `rvc pull`; the experiment\'s params and code are already in the workspace',
      });
    }
    checkout = await restore();
    lacking = missing(checkout);
    if (lacking.length) {
      throw new RvcError('OBJECT_MISSING', `the data of ${lacking.join(', ')} (experiment '${experiment.name}') is neither in the cache nor on the remote`, {
        path: lacking[0]!, hint: 'run the experiment again (`rvc exp run`), or push its data from the machine that ran it (`rvc push`)',
      });
    }
  }
  return { experiment, written, deleted, checkout: checkout!, fetched };
}

/** The files that differ between two commits (paths relative to the git top level). */
function treeChanges(top: string, from: string, to: string): Change[] {
  const out = runGit(['diff-tree', '-r', '-z', '--no-renames', from, to], top).split('\0');
  const res: Change[] = [];
  for (let i = 0; i + 1 < out.length; i += 2) {
    const meta = out[i]!;
    if (!meta.startsWith(':')) break;
    const [, newMode, oldOid, newOid, status] = meta.slice(1).split(' ');
    res.push({ path: out[i + 1]!, oldOid: oldOid!, newOid: newOid!, newMode: newMode!, status: status!.charAt(0) });
  }
  return res;
}

/**
 * The changed paths whose work-tree content is saved nowhere the apply knows of: not HEAD's,
 * not the experiment's, not any of `others` (experiments of HEAD).
 */
function unsavedEdits(top: string, changes: readonly Change[], others: readonly string[]): string[] {
  const current = new Map<string, string>();
  const files: string[] = [];
  const odd: string[] = [];
  for (const c of changes) {
    const st = fs.lstatSync(path.join(top, c.path), { throwIfNoEntry: false });
    if (!st) current.set(c.path, '');
    else if (st.isFile() && !c.path.includes('\n')) files.push(c.path);
    else odd.push(c.path);
  }
  if (files.length) {
    const oids = runGit(['hash-object', '--stdin-paths'], top, files.join('\n') + '\n').trim().split('\n');
    files.forEach((f, i) => current.set(f, oids[i]!));
  }
  const norm = (oid: string): string => (ZERO.test(oid) ? '' : oid);
  const suspects = changes.filter((c) => current.has(c.path) && current.get(c.path) !== norm(c.oldOid) && current.get(c.path) !== norm(c.newOid));
  const unsaved = new Set([...odd, ...suspects.map((c) => c.path)]);
  if (suspects.length && others.length) {
    const lines = others.flatMap((commit) => suspects.map((c) => `${commit}:${c.path}`));
    const answers = runGit(['cat-file', '--batch-check=%(objectname)'], top, lines.join('\n') + '\n').trim().split('\n');
    lines.forEach((_, i) => {
      const c = suspects[i % suspects.length]!;
      const oid = answers[i] ?? '';
      const cur = current.get(c.path)!;
      if ((cur === '' && oid.endsWith(' missing')) || oid === cur) unsaved.delete(c.path);
    });
  }
  return [...unsaved].sort();
}

/** The absolute path of `rel` in the work tree, refused when a folder on the way is a symbolic link (it could lead outside). */
function safeTarget(top: string, rel: string): string {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..') || parts[0]!.toLowerCase() === '.git') {
    throw new RvcError('PATH_UNSAFE', `the experiment holds a path rvc will not write: '${rel}'`, { path: rel });
  }
  let cur = top;
  for (const p of parts.slice(0, -1)) {
    cur = path.join(cur, p);
    if (fs.lstatSync(cur, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new RvcError('PATH_UNSAFE', `'${path.relative(top, cur)}' is a symbolic link: rvc will not write '${rel}' through it`, { path: rel, hint: 'replace the link with a folder, then apply again' });
    }
  }
  return path.join(top, rel);
}
