import { RvcError } from '../errors.js';
import { getConfigKey, setConfigKey, SECRET_REMOTE_KEYS, LOCAL_ONLY_KEYS, type Config } from '../model/config.js';
import { redact } from '../remote/remote-error.js';
import { Repo, type CommonOptions } from './repo.js';

export interface ConfigOptions extends CommonOptions {
  /** Read or write `.rvc/config.local.yaml` (untracked) instead of `.rvc/config.yaml`. */
  local?: boolean;
}

export function configGet(key: string, opts: ConfigOptions = {}): unknown {
  const repo = Repo.open(opts.cwd);
  if (opts.local) {
    const [, local] = Repo.readConfigLayers(repo.root);
    const c = { core: {}, cache: {}, remote: {}, ...local } as Config;
    return masked(getConfigKey(c, key));
  }
  return masked(getConfigKey(repo.config, key));
}

export async function configSet(key: string, value: string | undefined, opts: ConfigOptions = {}): Promise<void> {
  const repo = Repo.open(opts.cwd);
  await repo.withLock('rvc config', opts, () => {
    const layers = Repo.readConfigLayers(repo.root);
    // A key naming a place on this machine always goes to the untracked file.
    const local = !!opts.local || LOCAL_ONLY_KEYS.has(key);
    const next = setConfigKey(layers[local ? 1 : 0], key, value, local ? '.rvc/config.local.yaml' : '.rvc/config.yaml', { allowSecrets: local });
    repo.writeConfigLayer(local, next);
  });
}

/** Every set key as `section.key` → value, secrets masked. */
export function configList(opts: ConfigOptions = {}): Record<string, unknown> {
  const repo = Repo.open(opts.cwd);
  const [tracked, local] = Repo.readConfigLayers(repo.root);
  const out: Record<string, unknown> = {};
  const layer = opts.local ? local : { ...tracked, ...{} };
  const src = opts.local ? layer : repo.config;
  for (const section of ['core', 'cache'] as const) {
    for (const [k, v] of Object.entries(src[section] ?? {})) out[`${section}.${k}`] = Array.isArray(v) ? v.join(',') : v;
  }
  for (const [name, rc] of Object.entries(src.remote ?? {})) {
    for (const [k, v] of Object.entries(rc ?? {})) out[`remote.${name}.${k}`] = SECRET_REMOTE_KEYS.has(k) ? '***' : masked(v);
  }
  return out;
}

/** A URL someone wrote with credentials in it (rvc refuses to use it) is shown without them. */
function masked(v: unknown): unknown {
  return typeof v === 'string' ? redact(v) : v;
}

export function assertKeyGiven(key: string | undefined): string {
  if (!key) throw new RvcError('USAGE', 'no config key given', { hint: 'e.g. `rvc config cache.type hardlink,copy`, or `rvc config --list`' });
  return key;
}
