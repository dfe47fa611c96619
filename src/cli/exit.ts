import type { RvcError } from '../index.js';

/**
 * The one place exit codes are decided (documented in docs/commands.md):
 * 0 success · 1 failure · 2 usage error · 3 repository locked by another process ·
 * 130 interrupted (Ctrl-C). `status -q` exits 1 when it would have reported something (DVC's
 * meaning, for scripts and CI): see statusExitCode.
 */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, LOCKED: 3, INTERRUPTED: 130 } as const;

export function exitCodeFor(e: RvcError): number {
  switch (e.code) {
    case 'USAGE':
    case 'CONFIG_KEY_UNKNOWN':
      return EXIT.USAGE;
    case 'LOCKED':
      return EXIT.LOCKED;
    case 'INTERRUPTED':
      return EXIT.INTERRUPTED;
    default:
      return EXIT.FAILURE;
  }
}

/**
 * `status` exits 0 whatever it found, except with `-q` (and without `--json`): then 1 when
 * anything is modified, missing, not in the cache, stale or out of sync — what `status` would
 * have printed — as `dvc status -q` does.
 */
export function statusExitCode(flags: { quiet?: boolean; json?: boolean }, clean: boolean): number {
  return flags.quiet && !flags.json && !clean ? EXIT.FAILURE : EXIT.OK;
}
