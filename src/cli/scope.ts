import { Command } from 'commander';

/** The revision-scope options shared by gc, push, fetch, pull and status --cloud. */
export function scopeOptions(cmd: Command, what: string): Command {
  return cmd
    .option('-a, --all-branches', `${what} at the tip of every local branch`)
    .option('-T, --all-tags', `${what} at every tag`)
    .option('-A, --all-commits', `${what} at every commit reachable from any ref`)
    .option('--rev <rev>', `${what} at this git revision (repeatable)`, (v: string, prev: string[] = []) => [...prev, v]);
}

export interface ScopeFlags {
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  revs?: string[];
}

/** The library's scope fields from the parsed flags (only those given). */
export function scopeFrom(flags: Record<string, unknown>): ScopeFlags {
  const revs = flags.rev as string[] | undefined;
  return {
    ...(flags.allBranches ? { allBranches: true } : {}),
    ...(flags.allTags ? { allTags: true } : {}),
    ...(flags.allCommits ? { allCommits: true } : {}),
    ...(revs?.length ? { revs } : {}),
  };
}

/** `--glob`, `-R/--recursive` and `-d/--with-deps`, for the commands that take targets (each where DVC's does). */
export function targetOptions(cmd: Command, which: { glob?: boolean } = { glob: true }): Command {
  if (which.glob) cmd.option('--glob', 'targets are glob patterns (quote them), matched against tracked paths, pointer files and stage names');
  return cmd
    .option('-R, --recursive', 'a folder target means everything tracked below it (none is not an error)')
    .option('-d, --with-deps', 'also the outputs of every stage upstream of a stage target or of a stage output target');
}

/** The library's target flags from the parsed flags (only those given). */
export function targetFlagsFrom(flags: Record<string, unknown>): { glob?: boolean; recursive?: boolean; withDeps?: boolean } {
  return {
    ...(flags.glob ? { glob: true } : {}), ...(flags.recursive ? { recursive: true } : {}), ...(flags.withDeps ? { withDeps: true } : {}),
  };
}
