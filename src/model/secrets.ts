/**
 * What counts as a secret in rvc's own files: the one place that decides whether a URL carries
 * credentials. Configuration checks, remote URL parsing and listings all ask here.
 */

const SCHEME_AUTHORITY_RE = /^\s*[a-zA-Z][a-zA-Z0-9+.-]*:[/\\]{2}([^/\\?#]*)/;

/**
 * Whether `url` carries credentials: a user-info part (`scheme://user[:password]@host`). A user
 * name alone counts too: for the stores rvc talks to it is an access key or a token.
 */
export function urlHasCredentials(url: string): boolean {
  const m = SCHEME_AUTHORITY_RE.exec(url);
  if (m && m[1]!.includes('@')) return true;
  // What a URL parser would make of it (it reads `http:\\user@host` as user-info too).
  try {
    const u = new URL(url.trim());
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

/** `url` with the user-info part of its authority replaced by `***`, for display. */
export function maskUrlCredentials(url: string): string {
  return url.replace(/([a-z][a-z0-9+.-]*:[/\\]{2})[^/\\@\s]*@/gi, '$1***@');
}
