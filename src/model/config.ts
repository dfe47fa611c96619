import { RvcError } from '../errors.js';
import { DEFAULT_HASH, isHashAlgo, HASH_ALGOS, type HashAlgo } from './oid.js';
import { parseYaml, toYaml, isPlainObject, nearestLine } from './yaml.js';

export type LinkType = 'reflink' | 'hardlink' | 'symlink' | 'copy';
export const LINK_TYPES: readonly LinkType[] = ['reflink', 'hardlink', 'symlink', 'copy'];
export const DEFAULT_LINK_TYPES: LinkType[] = ['reflink', 'copy'];
/** `cache.shared`: who else may use the cache. Only `group` (as DVC): folders group-writable and setgid. */
export type CacheSharing = 'group';
export const CACHE_SHARING: readonly CacheSharing[] = ['group'];

export interface RemoteConfig {
  url: string;
  [option: string]: string | number | boolean;
}

/** The merged configuration (tracked config.yaml overlaid by untracked config.local.yaml). */
export interface Config {
  core: { hash: HashAlgo; remote?: string; no_scm?: boolean; check_update?: boolean };
  cache: { type: LinkType[]; jobs?: number; dir?: string; shared?: CacheSharing };
  remote: Record<string, RemoteConfig>;
}

/** The schema of every settable key, for validation and `rvc config`. */
interface KeySpec {
  type: 'string' | 'number' | 'seconds' | 'boolean' | 'hash' | 'linktypes' | 'path' | 'sharing';
  help: string;
}
const CORE_KEYS: Record<string, KeySpec> = {
  hash: { type: 'hash', help: `hash algorithm for new objects (${HASH_ALGOS.join(', ')})` },
  remote: { type: 'string', help: 'name of the default remote' },
  no_scm: { type: 'boolean', help: 'the repository is not inside git' },
  check_update: { type: 'boolean', help: 'reserved' },
};
const CACHE_KEYS: Record<string, KeySpec> = {
  type: { type: 'linktypes', help: `link types to try in order, comma separated (${LINK_TYPES.join(', ')})` },
  jobs: { type: 'number', help: 'how many files to hash or copy at once' },
  dir: { type: 'path', help: 'folder of the cache (default: cache); a relative path is resolved against .rvc/' },
  shared: { type: 'sharing', help: `share the cache with other users: ${CACHE_SHARING.join(', ')} (folders group-writable and setgid, objects group-readable)` },
};
export const REMOTE_KEYS: Record<string, KeySpec> = {
  url: { type: 'string', help: 'a path, file://, s3://bucket/prefix or gs://bucket/prefix' },
  endpointurl: { type: 'string', help: 'S3-compatible or GCS API endpoint' },
  region: { type: 'string', help: 'S3 region' },
  profile: { type: 'string', help: 'AWS credentials profile' },
  jobs: { type: 'number', help: 'concurrent transfers for this remote' },
  projectid: { type: 'string', help: 'GCS project id' },
  credentialpath: { type: 'string', help: 'path of a credentials file (keep it in config.local.yaml)' },
  connecttimeout: { type: 'seconds', help: 'seconds to wait for a connection' },
  readtimeout: { type: 'seconds', help: 'seconds to wait for data on an open connection' },
  retries: { type: 'number', help: 'retries of a failed transfer (exponential backoff with jitter)' },
  access_key_id: { type: 'string', help: 'S3 access key (only in config.local.yaml)' },
  secret_access_key: { type: 'string', help: 'S3 secret key (only in config.local.yaml)' },
  session_token: { type: 'string', help: 'S3 session token (only in config.local.yaml)' },
};
/**
 * Keys that name places on this machine: only in config.local.yaml, and `rvc config` stores them
 * there. A committed `cache.dir` would let any repository make rvc create folders and write
 * objects wherever it names.
 */
export const LOCAL_ONLY_KEYS: ReadonlySet<string> = new Set(['cache.dir']);

/** Options that are secrets: refused in the tracked config and never printed. */
export const SECRET_REMOTE_KEYS = new Set(['access_key_id', 'secret_access_key', 'session_token']);

export function defaultConfig(): Config {
  // Remote names come from files: a map without a prototype, so a remote called `constructor`
  // or `toString` is just a name.
  return { core: { hash: DEFAULT_HASH }, cache: { type: [...DEFAULT_LINK_TYPES] }, remote: Object.create(null) as Config['remote'] };
}

export function parseLinkTypes(v: unknown, where: string): LinkType[] {
  const parts = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : null;
  if (!parts || parts.length === 0) throw keyError(where, `'cache.type' must be a comma-separated list of ${LINK_TYPES.join(', ')}`);
  const out: LinkType[] = [];
  for (const p of parts) {
    const t = String(p).trim();
    if (!(LINK_TYPES as readonly string[]).includes(t)) throw keyError(where, `unknown link type '${t}' (allowed: ${LINK_TYPES.join(', ')})`);
    if (!out.includes(t as LinkType)) out.push(t as LinkType);
  }
  return out;
}

/** Bounds of numeric settings: larger values are typos, and would overflow timers or limits. */
const MAX_NUMBER = 1_000_000;
const MAX_SECONDS = 7 * 24 * 3600;

function coerce(spec: KeySpec, v: unknown, key: string, where: string, line?: number): unknown {
  const keyError = (w: string, msg: string): RvcError => lineError(w, line, msg);
  switch (spec.type) {
    case 'string':
      if (typeof v !== 'string' && typeof v !== 'number') throw keyError(where, `'${key}' must be a string`);
      return String(v);
    case 'number': {
      const n = typeof v === 'string' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_NUMBER) throw keyError(where, `'${key}' must be a positive integer (at most ${MAX_NUMBER})`);
      return n;
    }
    case 'seconds': {
      const n = typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > MAX_SECONDS) throw keyError(where, `'${key}' must be a positive number of seconds (at most ${MAX_SECONDS})`);
      return n;
    }
    case 'boolean':
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      throw keyError(where, `'${key}' must be true or false`);
    case 'hash':
      if (!isHashAlgo(v)) throw keyError(where, `'${key}' must be one of ${HASH_ALGOS.join(', ')}`);
      return v;
    case 'path':
      if (typeof v !== 'string' || v.trim() === '' || v.includes('\0')) throw keyError(where, `'${key}' must be a folder path`);
      return v;
    case 'sharing':
      if (!(CACHE_SHARING as readonly unknown[]).includes(v)) throw keyError(where, `'${key}' must be ${CACHE_SHARING.join(' or ')}`);
      return v;
    case 'linktypes':
      try {
        return parseLinkTypes(v, where);
      } catch (e) {
        throw e instanceof RvcError ? lineError(where, line, e.message.slice(where.length + 2)) : e;
      }
  }
}

function keyError(where: string, msg: string): RvcError {
  return lineError(where, undefined, msg);
}

function lineError(where: string, line: number | undefined, msg: string, hint = 'fix the value with `rvc config` or by editing the file'): RvcError {
  return new RvcError('CONFIG_INVALID', `${where}${line !== undefined ? `:${line}` : ''}: ${msg}`, {
    path: where, ...(line !== undefined ? { line } : {}), hint,
  });
}

/** A raw config file as written on disk (one layer), validated. */
export type ConfigLayer = {
  core?: Partial<Config['core']>;
  cache?: Partial<Config['cache']>;
  remote?: Record<string, Partial<RemoteConfig>>;
};

const REMOTE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function parseConfigLayer(text: string, file: string, opts: { allowSecrets: boolean }): ConfigLayer {
  const doc = parseYaml(text, file, 'CONFIG_INVALID');
  const at = (...path: string[]): number => nearestLine(doc, path);
  const v = doc.value ?? {};
  if (!isPlainObject(v)) throw lineError(file, at(), 'expected a mapping of sections (core, cache, remote)');
  const layer: ConfigLayer = {};
  for (const [section, body] of Object.entries(v)) {
    if (body === null || body === undefined) continue;
    if (section !== 'core' && section !== 'cache' && section !== 'remote') {
      throw lineError(file, at(section), `unknown section '${section.slice(0, 100)}'`, 'known sections: core, cache, remote');
    }
    if (!isPlainObject(body)) throw lineError(file, at(section), `section '${section}' must be a mapping`);
    if (section === 'core' || section === 'cache') {
      const keys = section === 'core' ? CORE_KEYS : CACHE_KEYS;
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(body)) {
        const spec = Object.hasOwn(keys, k) ? keys[k] : undefined;
        if (!spec) throw lineError(file, at(section, k), `unknown key '${section}.${k.slice(0, 100)}'`, `known keys: ${Object.keys(keys).map((x) => `${section}.${x}`).join(', ')}`);
        if (LOCAL_ONLY_KEYS.has(`${section}.${k}`) && !opts.allowSecrets) {
          throw lineError(file, at(section, k), `'${section}.${k}' names a folder on this machine and must not be in the tracked config`,
            `remove it and set it with \`rvc config ${section}.${k} …\` (stored in .rvc/config.local.yaml, which git ignores)`);
        }
        out[k] = coerce(spec, val, `${section}.${k}`, file, at(section, k));
      }
      (layer as Record<string, unknown>)[section] = out;
    } else {
      const remotes: Record<string, Partial<RemoteConfig>> = Object.create(null) as Record<string, Partial<RemoteConfig>>;
      for (const [name, rc] of Object.entries(body)) {
        if (!REMOTE_NAME_RE.test(name)) throw lineError(file, at(section, name), `invalid remote name '${name.slice(0, 100)}'`);
        if (!isPlainObject(rc)) throw lineError(file, at(section, name), `remote '${name}' must be a mapping`);
        const out: Partial<RemoteConfig> = {};
        for (const [k, val] of Object.entries(rc)) {
          const spec = Object.hasOwn(REMOTE_KEYS, k) ? REMOTE_KEYS[k] : undefined;
          const line = at(section, name, k);
          if (!spec) throw lineError(file, line, `unknown option '${k.slice(0, 100)}' for remote '${name}'`, `known options: ${Object.keys(REMOTE_KEYS).join(', ')}`);
          if (SECRET_REMOTE_KEYS.has(k) && !opts.allowSecrets) {
            throw lineError(file, line, `'${k}' of remote '${name}' is a secret and must not be in the tracked config`,
              `remove it and set it with \`rvc remote modify --local ${name} ${k} …\` (stored in .rvc/config.local.yaml, which git ignores)`);
          }
          out[k] = coerce(spec, val, `remote.${name}.${k}`, file, line) as string | number | boolean;
        }
        remotes[name] = out;
      }
      layer.remote = remotes;
    }
  }
  return layer;
}

/** Overlays layers in order (later wins) on the defaults. */
export function mergeConfig(...layers: ConfigLayer[]): Config {
  const c = defaultConfig();
  for (const l of layers) {
    if (l.core) Object.assign(c.core, l.core);
    if (l.cache) Object.assign(c.cache, l.cache);
    if (l.remote) {
      for (const [name, rc] of Object.entries(l.remote)) {
        c.remote[name] = { ...(c.remote[name] ?? {}), ...rc } as RemoteConfig;
      }
    }
  }
  return c;
}

export function serializeConfigLayer(l: ConfigLayer): string {
  const out: Record<string, unknown> = {};
  const cache = l.cache ? { ...l.cache } : undefined;
  if (l.core && Object.keys(l.core).length) out.core = l.core;
  if (cache && Object.keys(cache).length) {
    if (cache.type) (cache as Record<string, unknown>).type = cache.type.join(',');
    out.cache = cache;
  }
  if (l.remote && Object.keys(l.remote).length) out.remote = l.remote;
  return Object.keys(out).length ? toYaml(out) : '';
}

/** Splits `section.key` / `remote.name.key` and validates the key exists. */
export function resolveConfigKey(key: string): { section: 'core' | 'cache' | 'remote'; name?: string; key: string } {
  const parts = key.split('.');
  const fail = (): never => {
    throw new RvcError('CONFIG_KEY_UNKNOWN', `unknown config key '${key}'`, {
      hint: `known keys: ${[...Object.keys(CORE_KEYS).map((k) => `core.${k}`), ...Object.keys(CACHE_KEYS).map((k) => `cache.${k}`), 'remote.<name>.<option>'].join(', ')}`,
    });
  };
  if (parts.length === 2 && (parts[0] === 'core' || parts[0] === 'cache')) {
    const keys = parts[0] === 'core' ? CORE_KEYS : CACHE_KEYS;
    if (!keys[parts[1]!]) fail();
    return { section: parts[0], key: parts[1]! };
  }
  if (parts.length === 3 && parts[0] === 'remote') {
    if (!REMOTE_KEYS[parts[2]!]) fail();
    return { section: 'remote', name: parts[1]!, key: parts[2]! };
  }
  return fail();
}

/** Sets (or with value undefined, unsets) a key in a layer, validating the value. */
export function setConfigKey(l: ConfigLayer, key: string, value: unknown, where: string, opts: { allowSecrets: boolean }): ConfigLayer {
  const k = resolveConfigKey(key);
  const next: ConfigLayer = JSON.parse(JSON.stringify(l)) as ConfigLayer;
  if (k.section === 'remote') {
    if (SECRET_REMOTE_KEYS.has(k.key) && !opts.allowSecrets && value !== undefined) {
      throw new RvcError('CONFIG_INVALID', `'${k.key}' is a secret and must not go into the tracked config`, { hint: 'add --local to store it in .rvc/config.local.yaml' });
    }
    next.remote = Object.assign(Object.create(null) as NonNullable<ConfigLayer['remote']>, next.remote ?? {});
    const rc = (next.remote[k.name!] ??= {});
    if (value === undefined) delete rc[k.key];
    else rc[k.key] = coerce(REMOTE_KEYS[k.key]!, value, key, where) as string | number | boolean;
    if (Object.keys(rc).length === 0) delete next.remote[k.name!];
  } else {
    if (LOCAL_ONLY_KEYS.has(`${k.section}.${k.key}`) && !opts.allowSecrets && value !== undefined) {
      throw new RvcError('CONFIG_INVALID', `'${key}' names a folder on this machine and must not go into the tracked config`, { hint: 'add --local to store it in .rvc/config.local.yaml' });
    }
    const spec = (k.section === 'core' ? CORE_KEYS : CACHE_KEYS)[k.key]!;
    const sec = ((next as Record<string, Record<string, unknown>>)[k.section] ??= {});
    if (value === undefined) delete sec[k.key];
    else sec[k.key] = coerce(spec, value, key, where);
  }
  return next;
}

export function getConfigKey(c: Config, key: string): unknown {
  const k = resolveConfigKey(key);
  if (k.section === 'remote') return c.remote[k.name!]?.[k.key];
  return (c[k.section] as Record<string, unknown>)[k.key];
}
