import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RvcError } from '../errors.js';
import { urlHasCredentials } from '../model/secrets.js';
import { redact } from './remote-error.js';

export type ParsedRemoteUrl =
  | { scheme: 's3'; bucket: string; prefix: string }
  | { scheme: 'gs'; bucket: string; prefix: string }
  | { scheme: 'local'; path: string }
  | { scheme: 'memory'; name: string };

const SUPPORTED = 's3://bucket/prefix, gs://bucket/prefix, a folder path or a file:// URL';
const SCHEME_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
// Loose on purpose: S3-compatible stores accept names real S3 would refuse.
const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function invalid(url: string, why: string, hint = `use one of: ${SUPPORTED}`): RvcError {
  return new RvcError('REMOTE_URL_INVALID', `invalid remote URL '${redact(url)}': ${why}`, { hint });
}

function credentialsInUrl(url: string): RvcError {
  return invalid(
    url,
    'it contains credentials',
    'remove them from the URL; put credentials in the untracked local config (`--local`), ' +
      'the environment (AWS_ACCESS_KEY_ID…, GOOGLE_APPLICATION_CREDENTIALS) or the provider’s credential files',
  );
}

/**
 * Parse a remote URL. A relative folder path is resolved against `baseDir` (the repository
 * root), so a remote configured as `../store` means the same folder from any working directory.
 */
export function parseRemoteUrl(url: string, baseDir?: string): ParsedRemoteUrl {
  const trimmed = url.trim();
  if (trimmed === '') throw invalid(url, 'it is empty');
  const m = SCHEME_RE.exec(trimmed);
  if (!m) {
    const expanded = trimmed === '~' || trimmed.startsWith('~/') ? path.join(os.homedir(), trimmed.slice(1)) : trimmed;
    return { scheme: 'local', path: path.resolve(baseDir ?? process.cwd(), expanded) };
  }
  if (urlHasCredentials(trimmed)) throw credentialsInUrl(trimmed);
  const scheme = m[1]!.toLowerCase();
  const rest = trimmed.slice(m[0].length);
  switch (scheme) {
    case 's3':
    case 'gs': {
      const slash = rest.indexOf('/');
      const authority = slash === -1 ? rest : rest.slice(0, slash);
      if (/[?#]/.test(rest)) throw invalid(trimmed, 'query strings and fragments are not allowed', `write it as ${scheme}://bucket/prefix`);
      if (!BUCKET_RE.test(authority)) throw invalid(trimmed, `'${authority}' is not a bucket name`, `write it as ${scheme}://bucket/prefix`);
      const prefix = (slash === -1 ? '' : rest.slice(slash + 1)).split('/').filter(Boolean).join('/');
      return { scheme, bucket: authority, prefix };
    }
    case 'file': {
      try {
        return { scheme: 'local', path: fileURLToPath(trimmed) };
      } catch (e) {
        throw invalid(trimmed, e instanceof Error ? e.message : String(e), 'write it as file:///absolute/path');
      }
    }
    case 'memory':
      return { scheme: 'memory', name: rest };
    default:
      throw invalid(trimmed, `unsupported scheme '${scheme}'`);
  }
}
