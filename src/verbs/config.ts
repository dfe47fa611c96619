import { RvcError } from '../errors.js';
import {
  getConfigKey, setConfigKey, parseConfigLayer, shownRemoteOption, resolveConfigKey, LOCAL_ONLY_KEYS, unsetConfigKeyInText, setConfigKeyInText,
  type Config, type ConfigLayer,
} from '../model/config.js';
import { maskUrlCredentials } from '../model/secrets.js';
import { Repo, type CommonOptions } from '../repo/repo.js';

export interface ConfigOptions extends CommonOptions {
  /** Read or write `.rvc/config.local.yaml` (untracked) instead of `.rvc/config.yaml`. */
  local?: boolean;
}

export interface ConfigEditResult {
  /**
   * Set when the edit repaired part of a config file rvc could not read, but the file still has
   * another problem (the error it now gives, naming the key to fix next).
   */
  stillInvalid?: RvcError;
}

/** The value of `key`; a secret is shown as `***`, a URL without credentials. */
export function configGet(key: string, opts: ConfigOptions = {}): unknown {
  const repo = Repo.open(opts.cwd);
  const k = resolveConfigKey(key);
  const c = opts.local ? ({ core: {}, cache: {}, exp: {}, remote: {}, ...Repo.readConfigLayer(repo.root, true) } as Config) : repo.config;
  const v = getConfigKey(c, key);
  return shown(k.section === 'remote' ? k.key : undefined, v);
}

/**
 * Sets (or with value undefined, unsets) `key` in the tracked or local config file. Only that
 * file is read, so a broken other file is no obstacle. A file rvc refuses to read can still be
 * repaired: `--unset` removes the named key from it whatever else is wrong, and a set is made
 * when the result reads back.
 */
export async function configSet(key: string, value: string | undefined, opts: ConfigOptions = {}): Promise<ConfigEditResult> {
  const repo = Repo.openUnconfigured(opts.cwd);
  // A key naming a place on this machine goes to the untracked file; unsetting one that a
  // tracked file holds (which rvc refuses to read) removes it from there.
  const local = !!opts.local || (LOCAL_ONLY_KEYS.has(key) && (value !== undefined || !trackedFileHolds(repo.root, key)));
  const file = Repo.configFileName(local);
  const readOpts = Repo.configReadOptions(local);
  return repo.withLock('rvc config', opts, () => {
    const text = Repo.readConfigText(repo.root, local) ?? '';
    let broken: RvcError | undefined;
    let layer: ConfigLayer | undefined;
    try {
      layer = parseConfigLayer(text, file, readOpts);
    } catch (e) {
      if (!(e instanceof RvcError && e.code === 'CONFIG_INVALID')) throw e;
      broken = e;
    }
    if (layer) {
      repo.writeConfigLayer(local, setConfigKey(layer, key, value, file, { allowSecrets: local }));
      return {};
    }
    // Repair: the file does not validate.
    if (value === undefined) {
      const next = unsetConfigKeyInText(text, file, key);
      if (next === undefined) throw broken!; // the key is not there; the error names what is wrong
      repo.writeConfigText(local, next);
      try {
        parseConfigLayer(next, file, readOpts);
        return {};
      } catch (e) {
        if (e instanceof RvcError) return { stillInvalid: e };
        throw e;
      }
    }
    const next = setConfigKeyInText(text, file, key, value, { allowSecrets: local });
    if (next === undefined) throw broken!;
    parseConfigLayer(next, file, readOpts); // still broken elsewhere: that error says what to fix first
    repo.writeConfigText(local, next);
    return {};
  });
}

/** Every set key as `section.key` → value, secrets masked. */
export function configList(opts: ConfigOptions = {}): Record<string, unknown> {
  const repo = Repo.open(opts.cwd);
  const src = opts.local ? Repo.readConfigLayer(repo.root, true) : repo.config;
  const out: Record<string, unknown> = {};
  for (const section of ['core', 'cache', 'exp'] as const) {
    for (const [k, v] of Object.entries(src[section] ?? {})) out[`${section}.${k}`] = shown(undefined, Array.isArray(v) ? v.join(',') : v);
  }
  for (const [name, rc] of Object.entries(src.remote ?? {})) {
    for (const [k, v] of Object.entries(rc ?? {})) out[`remote.${name}.${k}`] = shown(k, v);
  }
  return out;
}

/** A value as it may be shown: a remote's secret masked, a URL without its credentials. */
function shown(remoteOption: string | undefined, v: unknown): unknown {
  if (v === undefined) return undefined;
  if (remoteOption !== undefined) return shownRemoteOption(remoteOption, v);
  return typeof v === 'string' ? maskUrlCredentials(v) : v;
}

export function assertKeyGiven(key: string | undefined): string {
  if (!key) throw new RvcError('USAGE', 'no config key given', { hint: 'e.g. `rvc config cache.type hardlink,copy`, or `rvc config --list`' });
  return key;
}

/** Whether the tracked config file names `key`, read leniently (it may not validate). */
function trackedFileHolds(root: string, key: string): boolean {
  try {
    return unsetConfigKeyInText(Repo.readConfigText(root, false) ?? '', Repo.configFileName(false), key) !== undefined;
  } catch {
    return false;
  }
}
