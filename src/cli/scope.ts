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
