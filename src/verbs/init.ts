import fs from 'node:fs';
import path from 'node:path';
import { RvcError } from '../errors.js';
import { DEFAULT_HASH, assertHashAlgo, type HashAlgo } from '../model/oid.js';
import { serializeConfigLayerChecked, type ConfigLayer } from '../model/config.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { IGNORE_FILE } from '../fsutil/walk.js';
import { gitToplevel } from '../scm/git.js';
import { RVC_DIR, CONFIG_FILE, LOCAL_CONFIG_FILE, DEFAULT_CACHE_DIR, type CommonOptions } from '../repo/repo.js';

export interface InitOptions extends CommonOptions {
  noScm?: boolean;
  force?: boolean;
  hash?: string;
}

export interface InitResult {
  root: string;
  hash: HashAlgo;
  scm: boolean;
  reinitialized: boolean;
}

const RVCIGNORE_TEMPLATE = `# Paths rvc never sees inside tracked folders (gitignore syntax).
# Example: *.tmp
`;

/** Creates `.rvc/` (config, cache, tmp, its own .gitignore) and `.rvcignore` in `cwd`. */
export function init(opts: InitOptions = {}): InitResult {
  const root = path.resolve(opts.cwd ?? process.cwd());
  const rvcDir = path.join(root, RVC_DIR);
  const hash = assertHashAlgo(opts.hash ?? DEFAULT_HASH);
  const exists = fs.existsSync(rvcDir);
  if (exists && !opts.force) {
    throw new RvcError('ALREADY_INITIALIZED', `'${root}' is already an rvc repository`, {
      path: RVC_DIR, hint: 'use `rvc init --force` to write a fresh configuration (the cache is kept)',
    });
  }
  if (!opts.noScm && !gitToplevel(root)) {
    throw new RvcError('NOT_A_GIT_REPO', `'${root}' is not inside a git repository`, {
      hint: 'run `git init` first, or `rvc init --no-scm` to use rvc without git',
    });
  }
  fs.mkdirSync(path.join(rvcDir, DEFAULT_CACHE_DIR), { recursive: true });
  fs.mkdirSync(path.join(rvcDir, 'tmp'), { recursive: true });
  const layer: ConfigLayer = { core: {} };
  if (hash !== DEFAULT_HASH) layer.core!.hash = hash;
  if (opts.noScm) layer.core!.no_scm = true;
  if (!layer.core!.hash && !layer.core!.no_scm) delete layer.core;
  writeFileAtomic(path.join(rvcDir, CONFIG_FILE), serializeConfigLayerChecked(layer, `${RVC_DIR}/${CONFIG_FILE}`, { allowSecrets: false }) || '# rvc configuration (see `rvc config --help`)\n');
  writeFileAtomic(path.join(rvcDir, '.gitignore'), `/${LOCAL_CONFIG_FILE}\n/tmp\n/cache\n`);
  const ignoreFile = path.join(root, IGNORE_FILE);
  if (!fs.existsSync(ignoreFile)) writeFileAtomic(ignoreFile, RVCIGNORE_TEMPLATE);
  return { root, hash, scm: !opts.noScm, reinitialized: exists };
}
