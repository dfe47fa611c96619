import { RvcError } from '../errors.js';
import { assertRemoteName, setConfigKey, shownRemoteOption, parseConfigLayer, removeRemoteInText, type ConfigLayer, type RemoteConfig } from '../model/config.js';
import { parseRemoteUrl } from '../remote/index.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { requireRemoteIn } from '../repo/remotes.js';

export interface RemoteEditOptions extends CommonOptions {
  /** Write to the git-ignored config.local.yaml. */
  local?: boolean;
}

export interface RemoteInfo {
  name: string;
  url: string;
  isDefault: boolean;
  options: Record<string, string | number | boolean>;
}

function layerIndex(local?: boolean): 0 | 1 {
  return local ? 1 : 0;
}

async function editLayer(repo: Repo, opts: RemoteEditOptions, fn: (l: ConfigLayer, other: ConfigLayer) => ConfigLayer): Promise<void> {
  await repo.withLock('rvc remote', opts, () => {
    const layers = Repo.readConfigLayers(repo.root);
    const i = layerIndex(opts.local);
    repo.writeConfigLayer(!!opts.local, fn(layers[i], layers[1 - i]!));
  });
}

function where(local?: boolean): string {
  return local ? '.rvc/config.local.yaml' : '.rvc/config.yaml';
}

/** `rvc remote add [-d] [--local] [-f] <name> <url>` */
export async function remoteAdd(name: string, url: string, opts: RemoteEditOptions & { makeDefault?: boolean; force?: boolean } = {}): Promise<RemoteInfo> {
  assertRemoteName(name);
  const repo = Repo.open(opts.cwd);
  parseRemoteUrl(url, repo.root); // rejects bad schemes and credentials in the URL, without echoing them
  await editLayer(repo, opts, (l, other) => {
    if (!opts.force && (l.remote?.[name]?.url !== undefined || other.remote?.[name]?.url !== undefined)) {
      throw new RvcError('USAGE', `remote '${name}' already exists`, { hint: `use \`rvc remote modify ${name} url <url>\`, or add -f to replace it` });
    }
    let next = setConfigKey(l, `remote.${name}.url`, url, where(opts.local), { allowSecrets: !!opts.local });
    if (opts.makeDefault) next = setConfigKey(next, 'core.remote', name, where(opts.local), { allowSecrets: !!opts.local });
    return next;
  });
  return remoteList(opts).find((r) => r.name === name)!;
}

/** Every configured remote (tracked and local merged), secrets masked. */
export function remoteList(opts: CommonOptions = {}): RemoteInfo[] {
  const repo = Repo.open(opts.cwd);
  return Object.entries(repo.config.remote).map(([name, rc]) => {
    const options: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(rc)) if (k !== 'url') options[k] = shownRemoteOption(k, v) as string | number | boolean;
    // A URL with credentials (refused when used) is listed without them.
    return { name, url: String(shownRemoteOption('url', String(rc.url ?? ''))), isDefault: repo.config.core.remote === name, options };
  });
}

export async function remoteDefault(name: string | undefined, opts: RemoteEditOptions & { unset?: boolean } = {}): Promise<string | undefined> {
  const repo = Repo.open(opts.cwd);
  if (name === undefined && !opts.unset) return repo.config.core.remote;
  if (name !== undefined) requireRemote(repo, name);
  await editLayer(repo, opts, (l) => setConfigKey(l, 'core.remote', opts.unset ? undefined : name, where(opts.local), { allowSecrets: true }));
  return opts.unset ? undefined : name;
}

export async function remoteModify(name: string, option: string, value: string | undefined, opts: RemoteEditOptions & { unset?: boolean } = {}): Promise<void> {
  const repo = Repo.open(opts.cwd);
  requireRemote(repo, name);
  if (option === 'url' && value !== undefined) parseRemoteUrl(value, repo.root);
  await editLayer(repo, opts, (l) => setConfigKey(l, `remote.${name}.${option}`, opts.unset ? undefined : value, where(opts.local), { allowSecrets: !!opts.local }));
}

/**
 * Removes a remote from both config files. It also repairs: a file rvc refuses to read (a remote
 * with a name or options it does not accept, say) has the remote removed from its text, whatever
 * else is wrong in it.
 */
export async function remoteRemove(name: string, opts: CommonOptions = {}): Promise<void> {
  const repo = Repo.openUnconfigured(opts.cwd);
  await repo.withLock('rvc remote remove', opts, () => {
    let found = false;
    const known: string[] = [];
    const writes: (() => void)[] = [];
    for (const local of [false, true]) {
      const text = Repo.readConfigText(repo.root, local);
      if (!text) continue;
      const file = Repo.configFileName(local);
      let l: ConfigLayer;
      try {
        l = parseConfigLayer(text, file, Repo.configReadOptions(local));
      } catch (e) {
        if (!(e instanceof RvcError && e.code === 'CONFIG_INVALID')) throw e;
        const next = removeRemoteInText(text, file, name);
        if (next === undefined) continue;
        found = true;
        writes.push(() => repo.writeConfigText(local, next));
        continue;
      }
      for (const n of Object.keys(l.remote ?? {})) known.push(n);
      if (!l.remote?.[name] && l.core?.remote !== name) continue;
      found ||= !!l.remote?.[name];
      const next: ConfigLayer = JSON.parse(JSON.stringify(l)) as ConfigLayer;
      delete next.remote?.[name];
      if (next.core?.remote === name) delete next.core.remote;
      writes.push(() => repo.writeConfigLayer(local, next));
    }
    if (!found) {
      throw new RvcError('REMOTE_UNKNOWN', `no remote named '${name}'`, {
        hint: known.length ? `configured remotes: ${[...new Set(known)].join(', ')}` : 'add one with `rvc remote add -d <name> <url>`',
      });
    }
    for (const w of writes) w();
  });
}

export async function remoteRename(oldName: string, newName: string, opts: CommonOptions = {}): Promise<void> {
  const repo = Repo.open(opts.cwd);
  requireRemote(repo, oldName);
  assertRemoteName(newName);
  if (repo.config.remote[newName]) throw new RvcError('USAGE', `remote '${newName}' already exists`, { hint: 'choose another name or remove it first' });
  await repo.withLock('rvc remote rename', opts, () => {
    const layers = Repo.readConfigLayers(repo.root);
    layers.forEach((l, i) => {
      if (!l.remote?.[oldName] && l.core?.remote !== oldName) return;
      let next: ConfigLayer = JSON.parse(JSON.stringify(l)) as ConfigLayer;
      const rc = next.remote?.[oldName];
      if (rc) {
        delete next.remote![oldName];
        for (const [k, v] of Object.entries(rc)) next = setConfigKey(next, `remote.${newName}.${k}`, v, where(i === 1), { allowSecrets: i === 1 });
      }
      if (next.core?.remote === oldName) next.core.remote = newName;
      repo.writeConfigLayer(i === 1, next);
    });
  });
}

function requireRemote(repo: Repo, name: string): RemoteConfig {
  return requireRemoteIn(repo.config, name);
}
