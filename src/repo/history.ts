import { RvcError } from '../errors.js';
import { outRepoPath, parsePointer, POINTER_EXT, type Pointer } from '../model/pointer.js';
import type { Output } from '../model/output.js';
import { parseLock, type Lock, type LockStage } from '../model/lock.js';
import { LOCK_FILE, PIPELINE_FILE, isLockFile, isPipelineFile, pipelineFileOf, stageId } from '../model/names.js';
import { isInside } from '../model/paths.js';
import { GitCatFile, GitTreeWalker, commitAuthor, type CommitInfo } from '../scm/catfile.js';
export type { CommitInfo };
import { gitAllCommits, gitHead, gitPrefix, gitRefCommits, gitResolveCommit, gitRevList } from '../scm/git.js';
import { listExperimentRefs, queuedSnapshotCommits } from '../scm/experiments.js';
import { RVC_DIR } from './repo.js';

export { scopeHasRevs, type RevScope } from './rev-scope.js';
import type { RevScope } from './rev-scope.js';

/**
 * Reads rvc's files as they were at any git revision, straight from git objects: one long-lived
 * `git cat-file --batch`, git trees walked once per distinct subtree, and each distinct pointer
 * blob parsed once. Nothing is checked out. Call close() when done.
 */
export class History {
  private readonly cat: GitCatFile;
  private readonly walker: GitTreeWalker;
  private readonly prefix: string;
  private readonly parsed = new Map<string, { pointer?: Pointer; lock?: Lock }>();
  private readonly mentioned = new Map<string, Promise<boolean>>();

  /** `root` is the rvc repository root; it may sit below the git top level. */
  constructor(readonly root: string) {
    this.prefix = gitPrefix(root);
    this.cat = new GitCatFile(root);
    this.walker = new GitTreeWalker(this.cat, (n) => (n.endsWith(POINTER_EXT) && n !== POINTER_EXT) || n === LOCK_FILE || n === PIPELINE_FILE);
  }

  close(): void {
    this.cat.close();
  }

  /** The commits the scope names, each once, with a label for messages (first name wins). */
  resolveScope(scope: RevScope): Map<string, string> {
    const revs = new Map<string, string>();
    const add = (commit: string, label: string): void => {
      if (!revs.has(commit)) revs.set(commit, label);
    };
    for (const r of scope.revs ?? []) add(gitResolveCommit(this.root, r), r);
    if (scope.allBranches) for (const b of gitRefCommits(this.root, 'heads')) add(b.commit, b.name);
    if (scope.allTags) for (const t of gitRefCommits(this.root, 'tags')) add(t.commit, t.name);
    if (scope.allExperiments) {
      for (const e of listExperimentRefs(this.root)) add(e.commit, `exp:${e.name}`);
      // Queued runs start from these: their data must still be there when they run.
      for (const q of queuedSnapshotCommits(this.root)) add(q.commit, `queued:${q.id}`);
    }
    if (scope.allCommits) for (const c of gitAllCommits(this.root)) add(c, c.slice(0, 8));
    return revs;
  }

  resolve(rev: string): string {
    return gitResolveCommit(this.root, rev);
  }

  /**
   * The commit `rev` names, resolved through the batch process (no process of its own); what
   * git cannot resolve by name (an experiment's name, an unknown revision: REV_NOT_FOUND) goes
   * through gitResolveCommit.
   */
  async commitOf(rev: string): Promise<string> {
    if (rev !== '' && !rev.startsWith('-') && !/[\0\n\r]/.test(rev)) {
      const c = await this.cat.read(`${rev}^{commit}`);
      if (c?.type === 'commit') return c.oid;
    }
    return gitResolveCommit(this.root, rev);
  }

  head(): string | undefined {
    return gitHead(this.root);
  }

  /** The bytes of repository-relative `rel` at `commit`, or undefined when it does not exist there. */
  async readFile(commit: string, rel: string): Promise<Buffer | undefined> {
    const o = await this.cat.read(`${commit}:${this.prefix}${rel}`);
    return o && o.type === 'blob' ? o.data : undefined;
  }

  /** Repository-relative paths and blob oids of the pointer files, lock files and pipeline files at `commit`. */
  async filesAt(commit: string): Promise<{ rel: string; oid: string }[]> {
    const all = await this.walker.filesAt(commit);
    const res: { rel: string; oid: string }[] = [];
    for (const f of all) {
      if (this.prefix && !f.path.startsWith(this.prefix)) continue;
      const rel = f.path.slice(this.prefix.length);
      if (rel === RVC_DIR || isInside(rel, RVC_DIR)) continue;
      res.push({ rel, oid: f.oid });
    }
    return res;
  }

  /**
   * Every output recorded at `commit`. A pointer that does not parse is an error naming the
   * revision and file: a command deciding what to keep must not guess.
   */
  async outsAt(commit: string, label: string = commit.slice(0, 8), onlyFiles?: (rel: string) => boolean): Promise<Output[]> {
    const res: Output[] = [];
    for (const { rel, p } of await this.parsedAt(commit, label, onlyFiles)) {
      const f = { rel };
      if (p.pointer) {
        for (const [index, out] of p.pointer.outs.entries()) {
          const rel = outRepoPath(f.rel, out.path, `${label}:${f.rel}`);
          res.push({
            kind: 'pointer', commit, file: f.rel, rel, out, where: `${label}:${rel}`, pointer: p.pointer, index,
            ...(p.pointer.import ? { imported: true } : {}),
          });
        }
      } else if (p.lock) {
        const pfile = pipelineFileOf(f.rel);
        for (const [local, st] of Object.entries(p.lock.stages)) {
          const stage = stageId(pfile, local);
          for (const o of st.outs) res.push({ kind: 'stage', commit, file: f.rel, rel: o.path, out: { ...o }, where: `${label}:${o.path}`, stage });
        }
      }
    }
    return res;
  }

  /** The pointer and lock files at `commit`, each parsed once per distinct blob. */
  private async parsedAt(commit: string, label: string, onlyFiles?: (rel: string) => boolean): Promise<{ rel: string; p: { pointer?: Pointer; lock?: Lock } }[]> {
    // Callers interested in one part of the tree parse only the files that can matter there.
    const files = (await this.filesAt(commit)).filter((f) => !isPipelineFile(f.rel) && (!onlyFiles || onlyFiles(f.rel)));
    // Blobs not parsed yet are requested together: git answers them in one pipelined stream.
    const fresh = files.filter((f) => !this.parsed.has(f.oid));
    const blobs = new Map(await Promise.all(fresh.map(async (f) => [f.oid, await this.cat.read(f.oid)] as const)));
    const res: { rel: string; p: { pointer?: Pointer; lock?: Lock } }[] = [];
    for (const f of files) {
      let p = this.parsed.get(f.oid);
      if (!p) {
        const blob = blobs.get(f.oid);
        const text = blob ? blob.data.toString('utf8') : '';
        const where = `${label}:${f.rel}`;
        p = isLockFile(f.rel)
          ? { lock: text.trim() === '' ? { schema: '1.0', stages: {} } : parseLock(text, where) }
          : { pointer: parsePointer(text, where) };
        this.parsed.set(f.oid, p);
      }
      res.push({ rel: f.rel, p });
    }
    return res;
  }

  /** Every stage entry recorded at `commit`, by stage id, with the lock file that records it. */
  async lockStagesAt(commit: string, label: string = commit.slice(0, 8)): Promise<Map<string, { lockFile: string; entry: LockStage }>> {
    const res = new Map<string, { lockFile: string; entry: LockStage }>();
    for (const { rel, p } of await this.parsedAt(commit, label, isLockFile)) {
      if (!p.lock) continue;
      const pfile = pipelineFileOf(rel);
      for (const [local, entry] of Object.entries(p.lock.stages)) res.set(stageId(pfile, local), { lockFile: rel, entry });
    }
    return res;
  }

  /**
   * Whether a pointer or lock file at `commit` (those `onlyFiles` accepts) contains `needle` in
   * its text, read without parsing: a cheap filter before parsing, for callers looking for one
   * oid across many commits. Remembered per blob and needle.
   */
  async mentions(commit: string, needle: string, onlyFiles?: (rel: string) => boolean): Promise<boolean> {
    const files = (await this.filesAt(commit)).filter((f) => !isPipelineFile(f.rel) && (!onlyFiles || onlyFiles(f.rel)));
    // Promises are remembered, so many commits asked at once read a shared blob once.
    const hits = files.map((f) => {
      const key = `${f.oid}\0${needle}`;
      let m = this.mentioned.get(key);
      if (!m) {
        m = this.cat.read(f.oid).then((blob) => !!blob && blob.data.includes(needle));
        this.mentioned.set(key, m);
      }
      return m;
    });
    return (await Promise.all(hits)).some(Boolean);
  }

  /** The git object id and type of repository-relative `rel` at `commit`, or undefined when git has none there. */
  async objectIdAt(commit: string, rel: string): Promise<{ oid: string; type: 'blob' | 'tree' } | undefined> {
    const o = await this.cat.read(`${commit}:${this.prefix}${rel}`);
    return o && (o.type === 'blob' || o.type === 'tree') ? { oid: o.oid, type: o.type } : undefined;
  }

  /** Author, author date and subject of a commit. */
  async commitInfo(commit: string): Promise<CommitInfo> {
    const c = await this.cat.read(`${commit}^{commit}`);
    if (!c || c.type !== 'commit') throw new RvcError('REV_NOT_FOUND', `git revision '${commit}' not found`, { hint: 'name a commit, branch or tag' });
    return { commit: c.oid, ...commitAuthor(c.data) };
  }

  /** The commits reachable from `commit`, newest first (`git rev-list`). */
  revList(commit: string): string[] {
    return gitRevList(this.root, commit);
  }
}

/** Opens a History for `root`, refusing clearly when it is not inside a git work tree. */
export function openHistory(root: string): History {
  try {
    return new History(root);
  } catch (e) {
    if (e instanceof RvcError && e.code === 'GIT_FAILED') {
      throw new RvcError('GIT_FAILED', `'${root}' is not inside a git repository, so it has no revisions to read`, {
        path: root, hint: 'revisions need git: run `git init` and commit the pointer files', cause: e,
      });
    }
    throw e;
  }
}
