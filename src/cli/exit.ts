import type { RvcError } from '../index.js';

/**
 * The one place exit codes are decided (documented in docs/commands.md):
 * 0 success · 1 failure · 2 usage error · 3 repository locked by another process ·
 * 130 interrupted (Ctrl-C).
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
