import path from 'node:path';
import type { Ctx } from '../context.js';
import { EXIT } from '../exit.js';
import { plural, printFailures } from '../output.js';

/**
 * git exports GIT_DIR and friends to hooks, sometimes as paths relative to the folder it ran the
 * hook in. rvc may work in another folder (a project below the git top level), so they are made
 * absolute first.
 */
function absolutiseGitEnv(): void {
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY']) {
    const v = process.env[k];
    if (v && !path.isAbsolute(v)) process.env[k] = path.resolve(v);
  }
}

/** `rvc checkout` of the whole workspace; git's own command has already succeeded, so failures only warn. */
async function checkoutAll(ctx: Ctx, cwd: string, hook: string): Promise<number> {
  const { lib, out, common } = ctx;
  try {
    const r = await lib.checkout({ ...common, cwd });
    for (const o of r.outs) {
      if (o.error) out.warn(`rvc (${hook} hook): ${o.path}: ${o.error.message}`);
      else if (o.added + o.modified + o.deleted || o.created) out.info(`rvc: M       ${o.path} (${o.added} added, ${o.modified} modified, ${o.deleted} deleted)`);
    }
    for (const x of r.removed) out.info(`rvc: D       ${x}`);
    if (r.failed) out.warn('the data of the outputs above was not updated; fix what is reported and run `rvc checkout` (or `rvc pull`)');
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string; hint?: string };
    if (err?.name !== 'RvcError') throw e;
    // A hooks folder shared through core.hooksPath also serves git repositories without rvc.
    if (err.code === 'NOT_A_REPO') return EXIT.OK;
    out.warn(`rvc (${hook} hook): the data in the workspace was not updated: ${err.message}`);
    out.warn(err.hint ? `${err.hint}; then run \`rvc checkout\`` : 'run `rvc checkout` when this is fixed');
  }
  return EXIT.OK;
}

/**
 * The commits git is about to push: pre-push gets `<local ref> <local oid> <remote ref> <remote
 * oid>` lines on stdin; a local oid of zeros deletes a remote ref and pushes nothing.
 */
async function pushedCommits(): Promise<string[]> {
  if (process.stdin.isTTY) return [];
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  const revs = new Set<string>();
  for (const line of text.split('\n')) {
    const local = line.trim().split(/\s+/)[1];
    if (local && /^[0-9a-f]{40,64}$/.test(local) && !/^0+$/.test(local)) revs.add(local);
  }
  return [...revs];
}

/**
 * `rvc push` to the default remote before git pushes commits that refer to the data: the data of
 * the commits being pushed (their pointers, read from git) and of the workspace.
 */
async function pushAll(ctx: Ctx, cwd: string): Promise<number> {
  const { lib, out, common } = ctx;
  let r;
  try {
    const revs = await pushedCommits();
    r = await lib.push({ ...common, cwd, ...(revs.length ? { revs } : {}) });
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string; hint?: string };
    if (err?.name !== 'RvcError') throw e;
    if (err.code === 'NOT_A_REPO') return EXIT.OK;
    if (err.code === 'REMOTE_NO_DEFAULT') {
      out.warn('rvc (pre-push hook): no default rvc remote is set, so no data was pushed (`rvc remote add -d <name> <url>` sets one)');
      return EXIT.OK;
    }
    out.error(`rvc (pre-push hook): pushing the data failed, so git will not push: ${err.message}`, 'fix it and push again, or skip the check with `git push --no-verify`');
    return EXIT.FAILURE;
  }
  if (r.failedCount) {
    printFailures(out, r, 'rvc (pre-push hook): ');
    const nowhere = Object.keys(r.failedByCode).every((c) => c === 'OBJECT_MISSING');
    out.error(
      `rvc (pre-push hook): ${plural(r.failedCount, 'object')} could not be pushed to '${r.remote}', so git will not push`,
      nowhere
        ? 'that data is neither in this cache nor on the remote: get it (`rvc pull` from another remote) or push without it with `git push --no-verify`'
        : 'run `git push` again to retry, or skip the check with `git push --no-verify`',
    );
    return EXIT.FAILURE;
  }
  if (r.transferred) out.info(`rvc: ${plural(r.transferred, 'file')} pushed to '${r.remote}'`);
  return EXIT.OK;
}

export async function runGitHook(ctx: Ctx, hook: string, args: string[]) {
  absolutiseGitEnv();
  const cwd = path.resolve(typeof ctx.flags.dir === 'string' ? ctx.flags.dir : '.');
  switch (hook) {
    case 'post-checkout': {
      // args: previous HEAD, new HEAD, 1 for a branch checkout (0 for `git checkout -- file`).
      const [prev, next, branch] = args;
      if (branch !== '1' || prev === next) return EXIT.OK;
      return checkoutAll(ctx, cwd, hook);
    }
    case 'post-merge':
      return checkoutAll(ctx, cwd, hook);
    case 'pre-push':
      return pushAll(ctx, cwd);
    default:
      ctx.out.error(`unknown hook '${hook}'`, 'rvc installs post-checkout, post-merge and pre-push');
      return EXIT.USAGE;
  }
}
