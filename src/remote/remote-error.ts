import { RvcError, type ErrorCode } from '../errors.js';
import { maskUrlCredentials } from '../model/secrets.js';
import { errorCodesOf, httpStatusOf } from './retry.js';

/**
 * Remove anything credential-like from text that may end up in a message: userinfo in URLs
 * (`s3://key:secret@bucket`), presigned-URL signatures and bearer tokens.
 */
export function redact(text: string): string {
  return maskUrlCredentials(text)
    .replace(/((?:X-Amz-)?(?:Signature|Credential|Security-Token)=)[^&\s]+/gi, '$1***')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1***');
}

/**
 * A plain Error carrying only the name, code, status and (redacted) message of an SDK error.
 * SDK errors can hold the whole request, headers included (gaxios keeps `config.headers`, where
 * an OAuth token lives); they must not travel up as `cause` to something that prints JSON.
 */
export function sanitizeCause(e: unknown): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const out = new Error(redact(msg));
  const codes = errorCodesOf(e);
  if (e instanceof Error) out.name = e.name;
  const extra = out as Error & { code?: string; status?: number };
  const code = codes.find((c) => c !== out.name) ?? codes[0];
  if (code !== undefined) extra.code = code;
  const status = httpStatusOf(e);
  if (status !== undefined) extra.status = status;
  return out;
}

export interface RemoteErrorContext {
  url: string;
  key?: string;
  cause?: unknown;
  /**
   * The credentials themselves were refused (unknown key, bad signature, expired token, none
   * found), not one object's permissions: every request of the command would fail alike.
   */
  credentials?: boolean;
  hint?: string;
}

/** Build an RvcError about a remote; the message and cause are scrubbed of credentials. */
export function remoteError(code: ErrorCode, message: string, ctx: RemoteErrorContext): RvcError {
  return new RvcError(code, redact(message), {
    ...(ctx.hint !== undefined ? { hint: ctx.hint } : {}),
    ...(ctx.cause !== undefined ? { cause: sanitizeCause(ctx.cause) } : {}),
    details: { url: redact(ctx.url), ...(ctx.key !== undefined ? { key: ctx.key } : {}), ...(ctx.credentials ? { credentials: true } : {}) },
  });
}

/** Whether a REMOTE_ACCESS_DENIED error says the credentials were refused (see RemoteErrorContext). */
export function credentialsRefused(e: RvcError): boolean {
  return e.code === 'REMOTE_ACCESS_DENIED' && typeof e.details === 'object' && e.details !== null && (e.details as { credentials?: unknown }).credentials === true;
}

/** A short reason for a failure, for the end of a message: "503 SlowDown: Please reduce…". */
export function describeCause(e: unknown): string {
  const status = httpStatusOf(e);
  const codes = errorCodesOf(e).filter((c) => c !== 'Error' && !/^\d+$/.test(c));
  const msg = e instanceof Error ? e.message : String(e);
  const head = [status, codes[0]].filter((x) => x !== undefined).join(' ');
  const text = msg && msg !== codes[0] && msg !== 'UnknownError' ? msg : '';
  return redact([head, text].filter(Boolean).join(': ') || 'unknown error');
}
