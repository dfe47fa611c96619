import fs from 'node:fs';
import path from 'node:path';
import { RvcError, fromFsError } from '../errors.js';
import { readTextIfExists, writeFileAtomic } from '../fsutil/atomic.js';
import {
  addGitattributesLines, gitConfigGet, gitConfigRemoveSection, gitConfigSet, gitHooksDir, gitPrefix, gitToplevel,
  removeGitattributesLines,
} from '../scm/git.js';
import { Repo, type CommonOptions } from '../repo/repo.js';

/** The hooks `rvc install` writes, and what each runs (through the hidden `rvc git-hook`). */
export const RVC_HOOKS = ['post-checkout', 'post-merge', 'pre-push'] as const;
export type RvcHookName = (typeof RVC_HOOKS)[number];

/** The line that marks a hook file as rvc's: only such files are rewritten or removed. */
export const HOOK_MARKER = '# rvc-hook: installed by `rvc install`; `rvc install --uninstall` removes it.';

export const GITATTRIBUTES_LINES = ['*.rvc merge=rvc', 'rvc.lock merge=rvc'] as const;
export const MERGE_DRIVER_NAME = 'rvc merge driver for .rvc pointers and rvc.lock';

/** How hooks and the merge driver start rvc: the node binary and CLI script that ran `rvc install`. */
export interface RvcCommand {
  node: string;
  script: string;
}

export interface InstallOptions extends CommonOptions {
  /** Recorded in the hooks and the merge driver; without it they use `rvc` from PATH. */
  rvc?: RvcCommand;
}

export type InstallAction = 'installed' | 'updated' | 'unchanged' | 'removed' | 'absent' | 'foreign';

export interface InstallResult {
  hooksDir: string;
  hooks: { name: RvcHookName; file: string; action: InstallAction }[];
  /** The `merge.rvc` section of the repository's git config. */
  mergeDriver: InstallAction;
  /** `.gitattributes` at the repository root: the lines added (install) or removed (uninstall). */
  gitattributes: { file: string; lines: string[] };
}

/** Single-quotes a word for sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A hook script. It runs rvc the way `rvc install` was run (absolute node and script paths, so a
 * GUI git client without the user's PATH still finds it), falling back to `rvc` on PATH. Without
 * any rvc, pre-push refuses (like git-lfs: pushing commits whose data is not on the remote is
 * what the hook exists to prevent); the others only warn.
 */
export function hookScript(name: RvcHookName, rvc: RvcCommand | undefined, prefix: string): string {
  const dir = prefix ? ` --dir ${shQuote(prefix)}` : '';
  const args = `git-hook ${name}${dir} -- "$@"`;
  const lines = ['#!/bin/sh', HOOK_MARKER];
  if (rvc) {
    lines.push(
      `rvc_node=${shQuote(rvc.node)}`,
      `rvc_cli=${shQuote(rvc.script)}`,
      'if [ -x "$rvc_node" ] && [ -f "$rvc_cli" ]; then',
      `  exec "$rvc_node" "$rvc_cli" ${args}`,
      'fi',
    );
  }
  lines.push(
    'if command -v rvc >/dev/null 2>&1; then',
    `  exec rvc ${args}`,
    'fi',
  );
  if (name === 'pre-push') {
    lines.push(
      `echo "rvc (pre-push hook): rvc was not found, so the data of these commits was not pushed." >&2`,
      `echo "hint: install rvc (or run \\\`rvc install\\\` again), or skip the check with \\\`git push --no-verify\\\`" >&2`,
      'exit 1',
    );
  } else {
    lines.push(
      `echo "rvc (${name} hook): rvc was not found; the data in the workspace was not updated (run \\\`rvc checkout\\\`)." >&2`,
      'exit 0',
    );
  }
  return lines.join('\n') + '\n';
}

/** The `merge.rvc.driver` command line (git runs it through the shell). */
export function mergeDriverCommand(rvc: RvcCommand | undefined): string {
  const args = 'merge-driver %O %A %B %P';
  if (!rvc) return `rvc ${args}`;
  return `if [ -f ${shQuote(rvc.script)} ]; then ${shQuote(rvc.node)} ${shQuote(rvc.script)} ${args}; else rvc ${args}; fi`;
}

function isOurs(text: string): boolean {
  return text.split('\n').includes(HOOK_MARKER);
}

function gitRepo(opts: CommonOptions): { repo: Repo; hooksDir: string; prefix: string } {
  const repo = Repo.open(opts.cwd);
  if (!repo.scm || !gitToplevel(repo.root)) {
    throw new RvcError('NOT_A_GIT_REPO', `'${repo.root}' is not inside a git work tree`, {
      hint: 'git hooks and the merge driver need git; this repository was initialised with --no-scm',
    });
  }
  return { repo, hooksDir: gitHooksDir(repo.root), prefix: gitPrefix(repo.root) };
}

/**
 * Installs rvc's git hooks and merge driver. An existing hook that rvc did not write is never
 * overwritten: nothing is changed and HOOK_EXISTS names it. Running it again rewrites only what
 * differs (for instance after rvc moved).
 */
export async function install(opts: InstallOptions = {}): Promise<InstallResult> {
  const { repo, hooksDir, prefix } = gitRepo(opts);
  const plan = RVC_HOOKS.map((name) => {
    const file = path.join(hooksDir, name);
    return { name, file, existing: readTextIfExists(file), script: hookScript(name, opts.rvc, prefix) };
  });
  const foreign = plan.filter((h) => h.existing !== undefined && !isOurs(h.existing));
  if (foreign.length) {
    const f = foreign[0]!;
    throw new RvcError('HOOK_EXISTS', `git hook '${f.file}' already exists and was not written by rvc${foreign.length > 1 ? ` (also: ${foreign.slice(1).map((h) => h.name).join(', ')})` : ''}; nothing was installed`, {
      path: f.file,
      hint: `move it aside and run \`rvc install\` again, or add this line to it yourself: rvc git-hook ${f.name}${prefix ? ` --dir ${shQuote(prefix)}` : ''} -- "$@"`,
      details: { hooks: foreign.map((h) => h.file) },
    });
  }
  try {
    fs.mkdirSync(hooksDir, { recursive: true });
  } catch (e) {
    throw fromFsError(e, hooksDir, 'create');
  }
  const hooks = plan.map((h) => {
    if (h.existing === h.script) return { name: h.name, file: h.file, action: 'unchanged' as InstallAction };
    writeFileAtomic(h.file, h.script, { mode: 0o755 });
    return { name: h.name, file: h.file, action: (h.existing === undefined ? 'installed' : 'updated') as InstallAction };
  });

  const driver = mergeDriverCommand(opts.rvc);
  const before = gitConfigGet(repo.root, 'merge.rvc.driver');
  let mergeDriver: InstallAction = 'unchanged';
  if (before !== driver || gitConfigGet(repo.root, 'merge.rvc.name') !== MERGE_DRIVER_NAME) {
    gitConfigSet(repo.root, 'merge.rvc.name', MERGE_DRIVER_NAME);
    gitConfigSet(repo.root, 'merge.rvc.driver', driver);
    mergeDriver = before === undefined ? 'installed' : 'updated';
  }
  const lines = addGitattributesLines(repo.root, GITATTRIBUTES_LINES);
  return { hooksDir, hooks, mergeDriver, gitattributes: { file: path.join(repo.root, '.gitattributes'), lines } };
}

/** Removes what `install` added: rvc's own hooks (others are left and reported as foreign), the merge driver and its attributes. */
export async function uninstall(opts: CommonOptions = {}): Promise<InstallResult> {
  const { repo, hooksDir } = gitRepo(opts);
  const hooks = RVC_HOOKS.map((name) => {
    const file = path.join(hooksDir, name);
    const text = readTextIfExists(file);
    let action: InstallAction = 'absent';
    if (text !== undefined && !isOurs(text)) action = 'foreign';
    else if (text !== undefined) {
      try {
        fs.rmSync(file, { force: true });
      } catch (e) {
        throw fromFsError(e, file, 'remove');
      }
      action = 'removed';
    }
    return { name, file, action };
  });
  const mergeDriver: InstallAction = gitConfigGet(repo.root, 'merge.rvc.driver') !== undefined && gitConfigRemoveSection(repo.root, 'merge.rvc') ? 'removed' : 'absent';
  const lines = removeGitattributesLines(repo.root, GITATTRIBUTES_LINES);
  return { hooksDir, hooks, mergeDriver, gitattributes: { file: path.join(repo.root, '.gitattributes'), lines } };
}
