import { RvcError } from '../../errors.js';
import type { ParamsByFile } from '../params.js';
import { canonicalJson, compareStrings, setOwn, sortKeysDeep } from '../values.js';
import { allOutputs, type Stage } from './types.js';

/**
 * The stage fingerprint: everything that decides what a stage produces, in canonical form (the
 * run-cache's key), and the environment values a stage records.
 */

/**
 * The values of a stage's env variables as recorded in the lock: the environment's value, else
 * the default, else null (unset).
 */
export function resolveEnv(stage: Stage, environ: Readonly<Record<string, string | undefined>>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const e of stage.env) {
    const v = Object.hasOwn(environ, e.name) ? environ[e.name] : undefined;
    setOwn(out, e.name, v ?? e.default ?? null);
  }
  return out;
}

export interface FingerprintInputs {
  /** repoPath of each dep → its oid. */
  deps: Readonly<Record<string, string>>;
  /** params file repoPath → dot path → value. */
  params: ParamsByFile;
  /** env variable → value (null when unset). */
  env: Readonly<Record<string, string | null>>;
}

export interface Fingerprint {
  value: Record<string, unknown>;
  /** Canonical JSON of value: sorted keys, no whitespace; what a run-cache hashes. */
  text: string;
}

/**
 * Everything that decides what a stage produces, in canonical form: two runs with equal
 * fingerprints should produce equal outputs, so a run-cache keyed by its hash can restore
 * outputs instead of running the command. Frozen and always_changed are not inputs; the caller
 * should not use a run-cache for always_changed stages.
 */
export function stageFingerprint(stage: Stage, inputs: FingerprintInputs): Fingerprint {
  const deps = stage.deps.map((d) => {
    const oid = Object.hasOwn(inputs.deps, d.repoPath) ? inputs.deps[d.repoPath] : undefined;
    if (typeof oid !== 'string') {
      throw new RvcError('INTERNAL', `no oid given for dependency '${d.repoPath}' of stage '${stage.name}'`);
    }
    return { path: d.repoPath, oid };
  }).sort((a, b) => compareStrings(a.path, b.path));
  const params: Record<string, unknown> = {};
  for (const p of [...stage.params].sort((a, b) => compareStrings(a.repoPath, b.repoPath))) {
    const vals = Object.hasOwn(inputs.params, p.repoPath) ? inputs.params[p.repoPath] : undefined;
    setOwn(params, p.repoPath, sortKeysDeep(vals ?? {}));
  }
  const env: Record<string, string | null> = {};
  for (const e of stage.env) {
    setOwn(env, e.name, Object.hasOwn(inputs.env, e.name) ? inputs.env[e.name] ?? null : null);
  }
  const outs = allOutputs(stage)
    .map((o) => ({ path: o.repoPath, cache: o.cache, persist: o.persist, metric: o.metric }))
    .sort((a, b) => compareStrings(a.path, b.path));
  const value = { v: 1, cmd: stage.cmd, wdir: stage.wdir, deps, params, env, outs };
  return { value, text: canonicalJson(value) };
}
