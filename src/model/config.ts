import { RvcError } from '../errors.js';
import { DEFAULT_HASH, isHashAlgo, HASH_ALGOS, type HashAlgo } from './oid.js';
import { parseYaml, toYaml, nearestLine } from './yaml.js';
import { isPlainObject } from './values.js';
import { urlHasCredentials, maskUrlCredentials } from './secrets.js';

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
  cache: { type: LinkType[]; jobs?: number; dir?: string; shared?: CacheSharing; chunk_threshold?: number };
  /** Experiments: `replicates` is a comma-separated list of params that only repeat a run (`exp show`). */
  exp: { replicates?: string };
  remote: Record<string, RemoteConfig>;
}

/** The schema of every settable key, for validation and `rvc config`. */
interface KeySpec {
  type: 'string' | 'number' | 'count' | 'bytes' | 'seconds' | 'boolean' | 'hash' | 'linktypes' | 'path' | 'sharing';
  help: string;
  /** The value is a URL: one carrying credentials is refused wherever it would be stored. */
  url?: true;
  /** The value is a secret: refused in the tracked config, never printed. */
  secret?: true;
  /** The value names a place on this machine: only in config.local.yaml (see LOCAL_ONLY_KEYS). */
  localOnly?: true;
}
const CORE_KEYS: Record<string, KeySpec> = {
  hash: { type: 'hash', help: `hash algorithm for new objects (${HASH_ALGOS.join(', ')})` },
  remote: { type: 'string', help: 'name of the default remote' },
  no_scm: { type: 'boolean', help: 'the repository is not inside git' },
  check_update: { type: 'boolean', help: 'reserved' },
};
const CACHE_KEYS: Record<string, KeySpec> = {
  type: { type: 'linktypes', help: `link types to try in order, comma separated (${LINK_TYPES.join(', ')})` },
  jobs: { type: 'number', help: 'how many threads a checkout copies small files with (default: one per core, at most 4; 1 copies in one thread)' },
  dir: { type: 'path', localOnly: true, help: 'folder of the cache (default: cache); a relative path is resolved against .rvc/' },
  chunk_threshold: { type: 'bytes', help: 'files of at least this many bytes are stored as content-defined chunks, so a new version stores and sends only the chunks that changed (default 67108864, 64 MiB)' },
  shared: { type: 'sharing', help: `share the cache with other users: ${CACHE_SHARING.join(', ')} (folders group-writable and setgid, objects group-readable)` },
};
const EXP_KEYS: Record<string, KeySpec> = {
  replicates: { type: 'string', help: 'params that only repeat a run (e.g. seed), comma separated: `rvc exp show` groups experiments differing only in them' },
};
/** The sections that are plain mappings of keys, with their keys. */
const PLAIN_SECTIONS = { core: CORE_KEYS, cache: CACHE_KEYS, exp: EXP_KEYS } as const;
type PlainSection = keyof typeof PLAIN_SECTIONS;
const isPlainSection = (s: string): s is PlainSection => s === 'core' || s === 'cache' || s === 'exp';
export const REMOTE_KEYS: Record<string, KeySpec> = {
  url: { type: 'string', url: true, help: 'a path, file://, s3://bucket/prefix or gs://bucket/prefix' },
  endpointurl: { type: 'string', url: true, help: 'S3-compatible or GCS API endpoint' },
  region: { type: 'string', help: 'S3 region' },
  profile: { type: 'string', help: 'AWS credentials profile' },
  jobs: { type: 'number', help: 'concurrent transfers for this remote' },
  projectid: { type: 'string', help: 'GCS project id' },
  credentialpath: { type: 'string', help: 'path of a credentials file (keep it in config.local.yaml)' },
  connecttimeout: { type: 'seconds', help: 'seconds to wait for a connection' },
  readtimeout: { type: 'seconds', help: 'seconds to wait for data on an open connection' },
  retries: { type: 'number', help: 'retries of a failed transfer (exponential backoff with jitter)' },
  requestretries: { type: 'count', help: 'retries the SDK makes per HTTP request inside one attempt (S3, GCS)' },
  headthreshold: { type: 'count', help: 'existence checks for up to this many objects use one request each; more use listings' },
  pagesize: { type: 'number', help: 'keys per list request (S3, GCS; at most 1000)' },
  partsize: { type: 'bytes', help: 'S3 multipart part size in bytes (at least 5 MiB)' },
  resumablethreshold: { type: 'bytes', help: 'GCS: files of at least this many bytes use a resumable upload' },
  packs: { type: 'boolean', help: 'push small objects in packs (default true); false keeps every object loose, for rvc versions before packs' },
  access_key_id: { type: 'string', secret: true, help: 'S3 access key (only in config.local.yaml)' },
  secret_access_key: { type: 'string', secret: true, help: 'S3 secret key (only in config.local.yaml)' },
  session_token: { type: 'string', secret: true, help: 'S3 session token (only in config.local.yaml)' },
};
/**
 * Keys that name places on this machine: only in config.local.yaml, and `rvc config` stores them
 * there. A committed `cache.dir` would let any repository make rvc create folders and write
 * objects wherever it names.
 */
export const LOCAL_ONLY_KEYS: ReadonlySet<string> = new Set(Object.keys(CACHE_KEYS).filter((k) => CACHE_KEYS[k]!.localOnly).map((k) => `cache.${k}`));

/** Options that are secrets: refused in the tracked config and never printed. */
export const SECRET_REMOTE_KEYS = new Set(Object.keys(REMOTE_KEYS).filter((k) => REMOTE_KEYS[k]!.secret));

/**
 * How a remote option's value may be shown: a secret as `***`, a URL without its credentials.
 * The one rule for `config <key>`, `config --list` and `remote list`, human or `--json`.
 */
export function shownRemoteOption(option: string, v: unknown): unknown {
  if (SECRET_REMOTE_KEYS.has(option)) return '***';
  return typeof v === 'string' ? maskUrlCredentials(v) : v;
}

export function defaultConfig(): Config {
  // Remote names come from files: a map without a prototype, so a remote called `constructor`
  // or `toString` is just a name.
  return { core: { hash: DEFAULT_HASH }, cache: { type: [...DEFAULT_LINK_TYPES] }, exp: {}, remote: Object.create(null) as Config['remote'] };
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
/** S3's largest part (5 GiB); no size setting needs more. */
const MAX_BYTES = 5 * 1024 ** 3;

function coerce(spec: KeySpec, v: unknown, key: string, where: string, line?: number, hint?: string): unknown {
  const keyError = (w: string, msg: string): RvcError => lineError(w, line, msg, hint);
  switch (spec.type) {
    case 'string':
      if (typeof v !== 'string' && typeof v !== 'number') throw keyError(where, `'${key}' must be a string`);
      return String(v);
    case 'number': {
      const n = typeof v === 'string' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_NUMBER) throw keyError(where, `'${key}' must be a positive integer (at most ${MAX_NUMBER})`);
      return n;
    }
    case 'count': {
      const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_NUMBER) throw keyError(where, `'${key}' must be a whole number from 0 to ${MAX_NUMBER}`);
      return n;
    }
    case 'bytes': {
      const n = typeof v === 'string' ? parseByteSize(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_BYTES) {
        throw keyError(where, `'${key}' must be a number of bytes from 1 to ${MAX_BYTES}, optionally with a unit: 64MiB (or 64M), 1GiB, 500MB (decimal)`);
      }
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
        throw e instanceof RvcError ? lineError(where, line, e.message.slice(where.length + 2), hint) : e;
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
  exp?: Partial<Config['exp']>;
  remote?: Record<string, Partial<RemoteConfig>>;
};

const REMOTE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const REMOTE_NAME_RULE = 'a remote name starts with a letter or digit and holds only letters, digits, `.`, `_` and `-`';

/** Refuses a name no remote can have (the config reader would refuse the file holding it). */
export function assertRemoteName(name: string): void {
  if (!REMOTE_NAME_RE.test(name)) throw new RvcError('USAGE', `invalid remote name '${name.slice(0, 100)}'`, { hint: REMOTE_NAME_RULE });
}

export interface ParseConfigOptions {
  /** Secrets (and nothing else) are allowed only in the git-ignored local file. */
  allowSecrets: boolean;
  /**
   * The file is this repository's own tracked or local config: errors then name the `rvc config`
   * command that repairs it (which works on a file rvc otherwise refuses to read).
   */
  fixWith?: 'tracked' | 'local';
}

/** A word of shell: quoted unless plainly safe. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9._\/:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function parseConfigLayer(text: string, file: string, opts: ParseConfigOptions): ConfigLayer {
  const doc = parseYaml(text, file, 'CONFIG_INVALID');
  const at = (...path: string[]): number => nearestLine(doc, path);
  const local = opts.fixWith === 'local' ? ' --local' : '';
  /** The hint for a key that must go: the command removing it, or what the key may be. */
  const unsetHint = (key: string, otherwise: string): string =>
    opts.fixWith ? `remove it with \`rvc config${local} --unset ${shellWord(key.slice(0, 200))}\` (${otherwise})` : otherwise;
  const valueHint = (key: string): string | undefined =>
    opts.fixWith ? `set a valid value with \`rvc config${local} ${key} <value>\` or remove it with \`rvc config${local} --unset ${key}\`` : undefined;
  const v = doc.value ?? {};
  if (!isPlainObject(v)) throw lineError(file, at(), 'expected a mapping of sections (core, cache, exp, remote)');
  const layer: ConfigLayer = {};
  for (const [section, body] of Object.entries(v)) {
    if (body === null || body === undefined) continue;
    if (!isPlainSection(section) && section !== 'remote') {
      throw lineError(file, at(section), `unknown section '${section.slice(0, 100)}'`, unsetHint(section, 'known sections: core, cache, exp, remote'));
    }
    if (!isPlainObject(body)) throw lineError(file, at(section), `section '${section}' must be a mapping`, unsetHint(section, 'a section is a mapping of keys'));
    if (isPlainSection(section)) {
      const keys = PLAIN_SECTIONS[section];
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(body)) {
        const spec = Object.hasOwn(keys, k) ? keys[k] : undefined;
        if (!spec) throw lineError(file, at(section, k), `unknown key '${section}.${k.slice(0, 100)}'`, unsetHint(`${section}.${k}`, `known keys: ${Object.keys(keys).map((x) => `${section}.${x}`).join(', ')}`));
        if (spec.localOnly && !opts.allowSecrets) {
          throw lineError(file, at(section, k), `'${section}.${k}' names a folder on this machine and must not be in the tracked config`,
            `remove it with \`rvc config --unset ${section}.${k}\` and set it again with \`rvc config ${section}.${k} …\` (stored in .rvc/config.local.yaml, which git ignores)`);
        }
        out[k] = coerce(spec, val, `${section}.${k}`, file, at(section, k), valueHint(`${section}.${k}`));
      }
      (layer as Record<string, unknown>)[section] = out;
    } else {
      const remotes: Record<string, Partial<RemoteConfig>> = Object.create(null) as Record<string, Partial<RemoteConfig>>;
      for (const [name, rc] of Object.entries(body)) {
        const removeRemote = opts.fixWith ? `remove it with \`rvc remote remove ${shellWord(name.slice(0, 200))}\`` : undefined;
        if (!REMOTE_NAME_RE.test(name)) throw lineError(file, at(section, name), `invalid remote name '${name.slice(0, 100)}'`, removeRemote ? `${removeRemote} (${REMOTE_NAME_RULE})` : REMOTE_NAME_RULE);
        if (!isPlainObject(rc)) throw lineError(file, at(section, name), `remote '${name}' must be a mapping`, removeRemote ? `${removeRemote}, then add it again` : 'a remote is a mapping of options (url, …)');
        const out: Partial<RemoteConfig> = {};
        for (const [k, val] of Object.entries(rc)) {
          const spec = Object.hasOwn(REMOTE_KEYS, k) ? REMOTE_KEYS[k] : undefined;
          const line = at(section, name, k);
          const key = `remote.${name}.${k}`;
          if (!spec) throw lineError(file, line, `unknown option '${k.slice(0, 100)}' for remote '${name}'`, unsetHint(key, `known options: ${Object.keys(REMOTE_KEYS).join(', ')}`));
          if (spec.secret && !opts.allowSecrets) {
            throw lineError(file, line, `'${k}' of remote '${name}' is a secret and must not be in the tracked config`,
              `${opts.fixWith ? `remove it with \`rvc config --unset ${key}\`, ` : 'remove it, '}set it again with \`rvc remote modify --local ${name} ${k} …\` (stored in .rvc/config.local.yaml, which git ignores)`);
          }
          if (spec.url && !opts.allowSecrets && typeof val === 'string' && urlHasCredentials(val)) {
            throw lineError(file, line, `'${k}' of remote '${name}' contains credentials and must not be in the tracked config`,
              `${opts.fixWith ? `remove it with \`rvc config --unset ${key}\` and ` : ''}set it again without them; credentials belong in the environment, the provider's credential files or \`rvc remote modify --local ${name} …\``);
          }
          out[k] = coerce(spec, val, key, file, line, valueHint(key)) as string | number | boolean;
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
    if (l.exp) Object.assign(c.exp, l.exp);
    if (l.remote) {
      for (const [name, rc] of Object.entries(l.remote)) {
        c.remote[name] = { ...(c.remote[name] ?? {}), ...rc } as RemoteConfig;
      }
    }
  }
  return c;
}

export function serializeConfigLayer(l: ConfigLayer, file = '.rvc/config.yaml'): string {
  const out: Record<string, unknown> = {};
  const cache = l.cache ? { ...l.cache } : undefined;
  if (l.core && Object.keys(l.core).length) out.core = l.core;
  if (cache && Object.keys(cache).length) {
    if (cache.type) (cache as Record<string, unknown>).type = cache.type.join(',');
    out.cache = cache;
  }
  if (l.exp && Object.keys(l.exp).length) out.exp = l.exp;
  if (l.remote && Object.keys(l.remote).length) out.remote = l.remote;
  return Object.keys(out).length ? toYaml(out, file) : '';
}

export interface ConfigKey {
  section: PlainSection | 'remote';
  /** The remote's name (it may contain dots: the option is always the last part). */
  name?: string;
  key: string;
}

function keyProblem(key: string, msg: string, hint: string): RvcError {
  return new RvcError('CONFIG_KEY_UNKNOWN', `${msg.replace('%k', `'${key.slice(0, 200)}'`)}`, { hint });
}

/**
 * Splits `section.key` / `remote.<name>.<option>` and validates every part, so that no key can
 * put into a file something its reader refuses (an empty part, an unknown section or option,
 * a name no remote can have).
 */
export function resolveConfigKey(key: string): ConfigKey {
  const known = `known keys: ${[...Object.entries(PLAIN_SECTIONS).flatMap(([sec, keys]) => Object.keys(keys).map((k) => `${sec}.${k}`)), 'remote.<name>.<option>'].join(', ')}`;
  const parts = key.split('.');
  if (parts.some((p) => p === '')) throw keyProblem(key, 'config key %k has an empty part', `write it as section.key or remote.<name>.<option>; ${known}`);
  const [section] = parts;
  if (section !== undefined && isPlainSection(section)) {
    const keys = PLAIN_SECTIONS[section];
    if (parts.length !== 2 || !Object.hasOwn(keys, parts[1]!)) throw keyProblem(key, 'unknown config key %k', known);
    return { section, key: parts[1]! };
  }
  if (section === 'remote') {
    if (parts.length < 3) throw keyProblem(key, 'config key %k names no remote option', `write it as remote.<name>.<option>; options: ${Object.keys(REMOTE_KEYS).join(', ')}`);
    const name = parts.slice(1, -1).join('.');
    const option = parts[parts.length - 1]!;
    if (!REMOTE_NAME_RE.test(name)) throw keyProblem(key, `config key %k: invalid remote name '${name.slice(0, 100)}'`, REMOTE_NAME_RULE);
    if (!Object.hasOwn(REMOTE_KEYS, option)) throw keyProblem(key, `unknown remote option '${option.slice(0, 100)}' in %k`, `options: ${Object.keys(REMOTE_KEYS).join(', ')}`);
    return { section: 'remote', name, key: option };
  }
  throw keyProblem(key, `unknown config key %k (no section '${(section ?? '').slice(0, 100)}')`, known);
}

/**
 * Refuses a value that must not be stored where it is going: a secret or a place on this machine
 * in the tracked config, or a URL with credentials anywhere.
 */
function checkStorable(k: ConfigKey, spec: KeySpec, value: unknown, opts: { allowSecrets: boolean }): void {
  if (spec.localOnly && !opts.allowSecrets) {
    throw new RvcError('CONFIG_INVALID', `'${k.section}.${k.key}' names a folder on this machine and must not go into the tracked config`, { hint: 'add --local to store it in .rvc/config.local.yaml' });
  }
  if (spec.secret && !opts.allowSecrets) {
    throw new RvcError('CONFIG_INVALID', `'${k.key}' is a secret and must not go into the tracked config`, { hint: 'add --local to store it in .rvc/config.local.yaml (git-ignored)' });
  }
  // Never useful anywhere (rvc refuses such a URL when it opens the remote), so never stored.
  if (spec.url && typeof value === 'string' && urlHasCredentials(value)) {
    throw new RvcError('REMOTE_URL_INVALID', `'${k.key}' of remote '${k.name!}' contains credentials: not stored`, {
      hint: 'remove them from the URL; credentials belong in the environment, the provider\u2019s credential files or the local config (`rvc remote modify --local <name> access_key_id …`)',
    });
  }
}

/** Sets (or with value undefined, unsets) a key in a layer, validating the value. */
export function setConfigKey(l: ConfigLayer, key: string, value: unknown, where: string, opts: { allowSecrets: boolean }): ConfigLayer {
  const k = resolveConfigKey(key);
  const next: ConfigLayer = JSON.parse(JSON.stringify(l)) as ConfigLayer;
  if (k.section === 'remote') {
    const spec = REMOTE_KEYS[k.key]!;
    if (value !== undefined) checkStorable(k, spec, value, opts);
    next.remote = Object.assign(Object.create(null) as NonNullable<ConfigLayer['remote']>, next.remote ?? {});
    const rc = (next.remote[k.name!] ??= {});
    if (value === undefined) delete rc[k.key];
    else rc[k.key] = coerce(spec, value, key, where) as string | number | boolean;
    if (Object.keys(rc).length === 0) delete next.remote[k.name!];
  } else {
    const spec = PLAIN_SECTIONS[k.section][k.key]!;
    if (value !== undefined) checkStorable(k, spec, value, opts);
    const sec = ((next as Record<string, Record<string, unknown>>)[k.section] ??= {});
    if (value === undefined) delete sec[k.key];
    else sec[k.key] = coerce(spec, value, key, where);
  }
  return next;
}

/**
 * The text of a config layer, checked by reading it back with the same reader the next command
 * will use: rvc never writes a config file it would refuse to read.
 */
export function serializeConfigLayerChecked(l: ConfigLayer, file: string, opts: ParseConfigOptions): string {
  let text: string;
  try {
    // The writer's own guard (size, depth) and the reader must both accept the text.
    text = serializeConfigLayer(l, file);
    parseConfigLayer(text, file, opts);
  } catch (e) {
    if (!(e instanceof RvcError)) throw e;
    throw new RvcError('CONFIG_INVALID', `not writing ${file}: rvc could not read it back (${e.message})`, {
      path: file, hint: 'the file was left unchanged; give a valid key and value (`rvc config --help`)', cause: e,
    });
  }
  return text;
}

/**
 * The path in a config document a key names, read leniently (any non-empty section, key or
 * name), for repairing a file rvc refuses to read: `colour` (a whole section), `core.x`,
 * `remote.<name>` (a whole remote, the name may be empty or contain dots), `remote.<name>.<option>`.
 */
function rawKeyPath(key: string): string[] {
  const parts = key.split('.');
  if (parts.length === 1) return parts;
  if (parts[0] === 'remote') return parts.length === 2 ? parts : ['remote', parts.slice(1, -1).join('.'), parts[parts.length - 1]!];
  return [parts[0]!, parts.slice(1).join('.')];
}

/** The config document's top-level mapping, read without validation (only the YAML must parse). */
function rawRoot(text: string, file: string): Record<string, unknown> | undefined {
  const v = parseYaml(text, file, 'CONFIG_INVALID').value ?? {};
  return isPlainObject(v) ? v : undefined;
}

function rawText(root: Record<string, unknown>): string {
  return Object.keys(root).length ? toYaml(root) : '';
}

/** Deletes the value at `p` from `root`, dropping mappings left empty; false when it is not there. */
function rawDelete(root: Record<string, unknown>, p: string[]): boolean {
  const chain: Record<string, unknown>[] = [root];
  for (const part of p.slice(0, -1)) {
    const cur = chain[chain.length - 1]!;
    const next = Object.hasOwn(cur, part) ? cur[part] : undefined;
    if (!isPlainObject(next)) return false;
    chain.push(next);
  }
  const last = p[p.length - 1]!;
  if (!Object.hasOwn(chain[chain.length - 1]!, last)) return false;
  delete chain[chain.length - 1]![last];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]!).length === 0) delete chain[i - 1]![p[i - 1]!];
  }
  return true;
}

/**
 * Removes `key` from the text of a config file that may not validate: the repair path of
 * `rvc config --unset`. Only the YAML has to parse; mappings left empty are dropped. Returns the
 * new text, or undefined when the key is not in the file.
 */
export function unsetConfigKeyInText(text: string, file: string, key: string): string | undefined {
  const root = rawRoot(text, file);
  if (!root || !rawDelete(root, rawKeyPath(key))) return undefined;
  return rawText(root);
}

/**
 * Removes remote `name` (whatever its name or content) and a `core.remote` naming it from the
 * text of a config file that may not validate: the repair path of `rvc remote remove`.
 * Undefined when the file holds neither.
 */
export function removeRemoteInText(text: string, file: string, name: string): string | undefined {
  const root = rawRoot(text, file);
  if (!root) return undefined;
  const removed = rawDelete(root, ['remote', name]);
  const core = root.core;
  const wasDefault = isPlainObject(core) && core.remote === name && rawDelete(root, ['core', 'remote']);
  return removed || wasDefault ? rawText(root) : undefined;
}

/**
 * Sets a valid `key` to a valid `value` in the text of a config file that may not validate (the
 * rest of the file is kept as it is). The caller writes the result only if it reads back.
 * Undefined when the file is not a mapping at all.
 */
export function setConfigKeyInText(text: string, file: string, key: string, value: unknown, opts: { allowSecrets: boolean }): string | undefined {
  const k = resolveConfigKey(key);
  // The value as the writer stores it (validated, `cache.type` as a string, …).
  const alone = rawRoot(serializeConfigLayer(setConfigKey({}, key, value, file, opts)), file)!;
  const p = k.section === 'remote' ? ['remote', k.name!, k.key] : [k.section, k.key];
  let leaf: unknown = alone;
  for (const part of p) leaf = (leaf as Record<string, unknown>)[part];
  const root = rawRoot(text, file);
  if (!root) return undefined;
  let cur = root;
  for (const part of p.slice(0, -1)) {
    const next = Object.hasOwn(cur, part) ? cur[part] : undefined;
    if (isPlainObject(next)) cur = next;
    else cur = cur[part] = {};
  }
  cur[p[p.length - 1]!] = leaf;
  return rawText(root);
}

export function getConfigKey(c: Config, key: string): unknown {
  const k = resolveConfigKey(key);
  if (k.section === 'remote') return c.remote[k.name!]?.[k.key];
  return (c[k.section] as Record<string, unknown>)[k.key];
}

/** Binary multipliers of the size units a config value may carry; KB, MB… are decimal. */
const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, ki: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mi: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gi: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, ti: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/**
 * A size as a config value writes it: `67108864`, `64MiB`, `64M` (binary), `500MB` (decimal),
 * `1.5GiB`. Undefined for anything else, or for a fraction of a byte.
 */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return Number.isInteger(n) ? n : undefined;
}
