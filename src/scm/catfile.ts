import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { RvcError } from '../errors.js';

/** One object read from git's object database. */
export interface GitObject {
  oid: string;
  type: 'blob' | 'tree' | 'commit' | 'tag';
  data: Buffer;
}

interface Pending {
  spec: string;
  resolve: (o: GitObject | undefined) => void;
  reject: (e: Error) => void;
}

/**
 * A long-lived `git cat-file --batch`: one process answers every object read, so reading the
 * pointers of hundreds of revisions costs one process start, not one per file. Requests are
 * pipelined and answered in order.
 */
export class GitCatFile {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  /** A header line not yet whole. */
  private buf: Buffer = Buffer.alloc(0);
  /** The object being received: its header read, `filled` bytes of its data (and line feed) so far. */
  private body: { head: Pending; oid: string; type: GitObject['type']; data: Buffer; filled: number } | undefined;
  private failed: Error | undefined;
  private stderr = '';
  private closed = false;
  /** Requests not yet written to git. */
  private out = '';

  constructor(readonly cwd: string) {
    this.child = spawn('git', ['cat-file', '--batch'], {
      cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    });
    this.child.stdout.on('data', (d: Buffer) => this.onData(d));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.on('error', (e: NodeJS.ErrnoException) => this.fail(e.code === 'ENOENT'
      ? new RvcError('GIT_FAILED', 'git is not installed or not on PATH', { hint: 'install git' })
      : new RvcError('GIT_FAILED', `git cat-file failed: ${e.message}`, { cause: e })));
    this.child.on('close', (code) => {
      if (!this.closed || this.queue.length) this.fail(new RvcError('GIT_FAILED', `git cat-file exited (${code}): ${this.stderr.trim().split('\n')[0] ?? ''}`, { hint: 'is this a git repository?' }));
    });
    this.child.stdin.on('error', () => { /* reported through 'close' */ });
  }

  /** The object named by `spec` (an oid, or `rev:path`), or undefined when git has none. */
  read(spec: string): Promise<GitObject | undefined> {
    if (this.failed) return Promise.reject(this.failed);
    if (/[\n\r]/.test(spec)) return Promise.reject(new RvcError('GIT_FAILED', `cannot read '${spec}' from git: a name with a line break`));
    return new Promise((resolve, reject) => {
      this.queue.push({ spec, resolve, reject });
      // Requests made in one turn go to git in one write: a write per request costs a system call each.
      if (!this.out) queueMicrotask(() => this.flush());
      this.out += `${spec}\n`;
    });
  }

  private flush(): void {
    const s = this.out;
    this.out = '';
    if (s) this.child.stdin.write(s);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.child.stdin.end();
    if (!this.queue.length) this.child.kill();
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.queue.splice(0)) p.reject(this.failed);
  }

  private onData(d: Buffer): void {
    let pos = 0;
    while (pos < d.length) {
      const body = this.body;
      if (body) {
        // The object's bytes go straight into its own buffer (one copy, however many chunks it
        // comes in), then its line feed.
        const take = Math.min(body.data.length + 1 - body.filled, d.length - pos);
        const copy = Math.min(take, body.data.length - body.filled);
        if (copy > 0) d.copy(body.data, body.filled, pos, pos + copy);
        body.filled += take;
        pos += take;
        if (body.filled === body.data.length + 1) {
          this.body = undefined;
          this.queue.shift();
          body.head.resolve({ oid: body.oid, type: body.type, data: body.data });
        }
        continue;
      }
      const head = this.queue[0];
      if (!head) return;
      const nl = d.indexOf(0x0a, pos);
      if (nl < 0) {
        this.buf = Buffer.concat([this.buf, d.subarray(pos)]);
        return;
      }
      const header = (this.buf.length ? Buffer.concat([this.buf, d.subarray(pos, nl)]) : d.subarray(pos, nl)).toString('utf8');
      this.buf = Buffer.alloc(0);
      pos = nl + 1;
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.queue.shift();
        head.resolve(undefined);
        continue;
      }
      const m = /^([0-9a-f]+) (blob|tree|commit|tag) (\d+)$/.exec(header);
      if (!m) {
        this.fail(new RvcError('GIT_FAILED', `unexpected answer from git cat-file: '${header.slice(0, 100)}'`));
        return;
      }
      this.body = { head, oid: m[1]!, type: m[2] as GitObject['type'], data: Buffer.allocUnsafe(Number(m[3])), filled: 0 };
    }
  }
}

export interface GitTreeEntry {
  mode: string;
  name: string;
  oid: string;
}

/** Parses a raw git tree object (`<mode> <name>\0<binary oid>` repeated). */
export function parseGitTree(data: Buffer, oidBytes: number): GitTreeEntry[] {
  const out: GitTreeEntry[] = [];
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const nul = data.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 1 + oidBytes > data.length) throw new RvcError('GIT_FAILED', 'a git tree object could not be read');
    out.push({
      mode: data.subarray(i, sp).toString('latin1'),
      name: data.subarray(sp + 1, nul).toString('utf8'),
      oid: data.subarray(nul + 1, nul + 1 + oidBytes).toString('hex'),
    });
    i = nul + 1 + oidBytes;
  }
  return out;
}

/** The root tree oid of a raw commit object. */
export function commitTree(data: Buffer): string {
  const m = /^tree ([0-9a-f]+)\n/.exec(data.subarray(0, 200).toString('latin1'));
  if (!m) throw new RvcError('GIT_FAILED', 'a git commit object could not be read');
  return m[1]!;
}

/** Who made a commit and when (the author, not the committer). */
export interface CommitInfo {
  commit: string;
  author: string;
  email: string;
  /** ISO 8601, UTC. */
  date: string;
  /** The first line of the message. */
  subject: string;
}

/** Author, author date and subject of a raw commit object. */
export function commitAuthor(data: Buffer): Omit<CommitInfo, 'commit'> {
  const text = data.toString('utf8');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const m = /^author (.*) <([^>]*)> (\d+) [+-]\d{4}$/m.exec(head);
  const subject = end < 0 ? '' : (text.slice(end + 2).split('\n')[0] ?? '');
  if (!m) return { author: '', email: '', date: '', subject };
  return { author: m[1]!, email: m[2]!, date: new Date(Number(m[3]) * 1000).toISOString(), subject };
}

/**
 * Lists, at one commit, the blobs whose file name `match` accepts, with their paths from the
 * root of the git tree. Subtrees are read once per oid across calls (they are shared between
 * commits), so walking hundreds of commits of a large tree reads only what changed.
 */
export class GitTreeWalker {
  private readonly memo = new Map<string, Promise<{ path: string; oid: string }[]>>();

  constructor(private readonly cat: GitCatFile, private readonly match: (name: string) => boolean) {}

  async filesAt(commit: string): Promise<{ path: string; oid: string }[]> {
    const c = await this.cat.read(`${commit}^{commit}`);
    if (!c || c.type !== 'commit') throw new RvcError('REV_NOT_FOUND', `git revision '${commit}' not found`, { hint: 'name a commit, branch or tag' });
    return this.walk(commitTree(c.data), c.oid.length / 2);
  }

  private walk(tree: string, oidBytes: number): Promise<{ path: string; oid: string }[]> {
    // The promise is remembered, so walks of several commits at once read a shared subtree once.
    let hit = this.memo.get(tree);
    if (!hit) {
      hit = this.read(tree, oidBytes);
      this.memo.set(tree, hit);
    }
    return hit;
  }

  private async read(tree: string, oidBytes: number): Promise<{ path: string; oid: string }[]> {
    const t = await this.cat.read(tree);
    if (!t || t.type !== 'tree') throw new RvcError('GIT_FAILED', `git tree ${tree} is missing`, { hint: 'the git repository may be shallow or damaged' });
    const entries = parseGitTree(t.data, oidBytes);
    const subs = entries.filter((e) => e.mode === '40000');
    const subLists = await Promise.all(subs.map((e) => this.walk(e.oid, oidBytes)));
    const res: { path: string; oid: string }[] = [];
    for (const e of entries) {
      // Regular and executable files; symlinks (120000) and submodules (160000) are not pointers.
      if ((e.mode === '100644' || e.mode === '100755') && this.match(e.name)) res.push({ path: e.name, oid: e.oid });
    }
    subs.forEach((s, i) => {
      for (const f of subLists[i]!) res.push({ path: `${s.name}/${f.path}`, oid: f.oid });
    });
    return res;
  }
}
