import { RvcError } from '../errors.js';
import type { Config, RemoteConfig } from '../model/config.js';
import { openRemote, type Remote, type RemoteOptions } from '../remote/index.js';
import type { Repo } from './repo.js';

/** The configuration of the remote `name`; REMOTE_UNKNOWN naming the configured ones if none. */
export function requireRemoteIn(config: Config, name: string): RemoteConfig {
  const rc = config.remote[name];
  if (!rc?.url) {
    const known = Object.keys(config.remote);
    throw new RvcError('REMOTE_UNKNOWN', `no remote named '${name}'`, {
      hint: known.length ? `configured remotes: ${known.join(', ')}` : 'add one with `rvc remote add -d <name> <url>`',
    });
  }
  return rc;
}

/** The remote to use: the named one, else the default; opened with its options. */
export async function openRepoRemote(repo: Repo, name: string | undefined, overrides: { jobs?: number } = {}): Promise<{ name: string; remote: Remote }> {
  return openConfiguredRemote(repo.config, name, repo.root, overrides);
}

/**
 * Opens the named (or default) remote of a configuration; relative folder remotes are resolved
 * against `baseDir`, the root of the repository the configuration belongs to.
 */
export async function openConfiguredRemote(config: Config, name: string | undefined, baseDir: string, overrides: { jobs?: number } = {}): Promise<{ name: string; remote: Remote }> {
  const chosen = name ?? config.core.remote;
  if (!chosen) {
    throw new RvcError('REMOTE_NO_DEFAULT', 'no remote given and no default remote is set', {
      hint: 'add one with `rvc remote add -d <name> <url>`, or name one with `-r <name>`',
    });
  }
  const rc = requireRemoteIn(config, chosen);
  const o: RemoteOptions = { baseDir };
  const map: Record<string, keyof RemoteOptions> = {
    jobs: 'jobs', endpointurl: 'endpointurl', region: 'region', profile: 'profile', projectid: 'projectid',
    credentialpath: 'credentialpath', connecttimeout: 'connecttimeout', readtimeout: 'readtimeout', retries: 'retries',
    access_key_id: 'accesskeyid', secret_access_key: 'secretaccesskey', session_token: 'sessiontoken',
    requestretries: 'requestretries', headthreshold: 'headthreshold', pagesize: 'pagesize', partsize: 'partsize',
    resumablethreshold: 'resumablethreshold',
  };
  for (const [k, v] of Object.entries(rc)) {
    const key = map[k];
    if (key) (o as Record<string, unknown>)[key] = v;
  }
  if (overrides.jobs !== undefined) o.jobs = overrides.jobs;
  return { name: chosen, remote: await openRemote(String(rc.url), o) };
}
