/**
 * A command's revision scope, in a module of its own so that code deciding whether a command
 * names revisions does not load git history reading.
 */

/** Which revisions a command looks at, besides (or instead of) the workspace. */
export interface RevScope {
  /** The pointers in the working tree (the default when nothing else is chosen). */
  workspace?: boolean;
  /** The tip commit of every local branch. */
  allBranches?: boolean;
  /** The commit of every tag. */
  allTags?: boolean;
  /** Every commit reachable from any ref. */
  allCommits?: boolean;
  /** Named revisions (commits, branches, tags, `HEAD~3`). */
  revs?: string[];
  /** The commit of every experiment (refs/exps/); gc always keeps them. */
  allExperiments?: boolean;
}

/** Whether the scope names any git revision (rather than only the workspace). */
export function scopeHasRevs(s: RevScope): boolean {
  return !!(s.allBranches || s.allTags || s.allCommits || s.allExperiments || s.revs?.length);
}
