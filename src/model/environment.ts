import { flattenValues } from './params.js';
import { compareStrings, deepEqual } from './values.js';

/**
 * The environment a stage ran in, as recorded with its `rvc.lock` entry and run-cache entry:
 * plain data (machine, tools, hashes of environment files, outputs of the project's own probes),
 * keys chosen by the capture code. Only its comparison lives here, so every command that reports
 * drift (status, verify, lineage, report) reads it the same way.
 */
export type EnvironmentRecord = Record<string, unknown>;

/** One value that differs between two environment records (a key only one of them has included). */
export interface EnvironmentChange {
  /** Dot path of the value (`tools.python`, `cpu.cores`). */
  key: string;
  from?: unknown;
  to?: unknown;
}

/** What changed from `recorded` to `now`, key by key (dot paths), sorted by key. */
export function environmentDrift(recorded: EnvironmentRecord | undefined, now: EnvironmentRecord | undefined): EnvironmentChange[] {
  const a = flattenValues(recorded ?? {});
  const b = flattenValues(now ?? {});
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareStrings);
  const res: EnvironmentChange[] = [];
  for (const k of keys) {
    const hasA = Object.hasOwn(a, k);
    const hasB = Object.hasOwn(b, k);
    if (hasA && hasB && deepEqual(a[k], b[k])) continue;
    res.push({ key: k, ...(hasA ? { from: a[k] } : {}), ...(hasB ? { to: b[k] } : {}) });
  }
  return res;
}
