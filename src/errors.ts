/**
 * Every failure the library reports is an RvcError with a stable code. The CLI maps codes to
 * exit statuses in one place (src/cli/exit.ts); tests assert codes, never message wording.
 */
export type ErrorCode =
  // usage and repository state
  | 'USAGE'
  | 'NOT_A_REPO'
  | 'ALREADY_INITIALIZED'
  | 'NOT_A_GIT_REPO'
  | 'LOCKED'
  | 'CONFIG_INVALID'
  | 'CONFIG_KEY_UNKNOWN'
  // paths and targets
  | 'PATH_OUTSIDE_REPO'
  | 'PATH_NOT_FOUND'
  | 'PATH_UNSAFE'
  | 'PATH_TRACKED_BY_GIT'
  | 'PATH_IS_SYMLINK'
  | 'PATH_IS_INTERNAL'
  | 'PATH_OVERLAPS'
  | 'PATH_IGNORED'
  | 'NOT_TRACKED'
  // formats
  | 'POINTER_INVALID'
  | 'TREE_INVALID'
  | 'OID_INVALID'
  | 'HASH_UNSUPPORTED'
  | 'YAML_INVALID'
  // objects and workspace
  | 'OBJECT_MISSING'
  | 'OBJECT_CORRUPT'
  | 'CHECKOUT_WOULD_LOSE_DATA'
  | 'NO_LINK_TYPE'
  | 'IO'
  | 'DISK_FULL'
  | 'PERMISSION_DENIED'
  // remotes
  | 'REMOTE_UNKNOWN'
  | 'REMOTE_NO_DEFAULT'
  | 'REMOTE_URL_INVALID'
  | 'REMOTE_NOT_FOUND'
  | 'REMOTE_ACCESS_DENIED'
  | 'REMOTE_UNREACHABLE'
  | 'REMOTE_TRANSFER_FAILED'
  // pipelines
  | 'STAGE_INVALID'
  | 'STAGE_NOT_FOUND'
  | 'STAGE_FAILED'
  | 'PIPELINE_CYCLE'
  | 'PIPELINE_INVALID'
  | 'PARAMS_INVALID'
  | 'PLOT_INVALID'
  // git
  | 'GIT_FAILED'
  | 'REV_NOT_FOUND'
  | 'EXP_NAME_INVALID'
  | 'EXP_EXISTS'
  | 'EXP_AMBIGUOUS'
  | 'EXP_NOT_FOUND'
  | 'HOOK_EXISTS'
  | 'INTERRUPTED'
  | 'INTERNAL';

export interface RvcErrorOptions {
  /** One sentence telling the user what to do next. */
  hint?: string;
  /** The file or path the error is about, relative to the repository root where possible. */
  path?: string;
  /** 1-based line in `path`, for parse errors. */
  line?: number;
  cause?: unknown;
  /** Structured extra data for `--json` output (e.g. a list of failed objects). */
  details?: unknown;
}

export class RvcError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly path?: string;
  readonly line?: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, opts: RvcErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RvcError';
    this.code = code;
    if (opts.hint !== undefined) this.hint = opts.hint;
    if (opts.path !== undefined) this.path = opts.path;
    if (opts.line !== undefined) this.line = opts.line;
    if (opts.details !== undefined) this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.path !== undefined ? { path: this.path } : {}),
      ...(this.line !== undefined ? { line: this.line } : {}),
      ...(this.hint !== undefined ? { hint: this.hint } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }
}

export function isRvcError(e: unknown, code?: ErrorCode): e is RvcError {
  return e instanceof RvcError && (code === undefined || e.code === code);
}

/** Node system error code (ENOENT, EEXIST…) of an unknown thrown value, if any. */
export function errnoCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}

/** Turn an operating-system error on `path` into an RvcError with a useful code and hint. */
export function fromFsError(e: unknown, path: string, action: string): RvcError {
  if (e instanceof RvcError) return e;
  const code = errnoCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new RvcError('DISK_FULL', `no space left while trying to ${action} '${path}'`, {
        path, cause: e, hint: 'free some disk space (for example `rvc gc --workspace`) and run the command again',
      });
    case 'EFBIG':
      // The file-size limit (`ulimit -f`) or the filesystem's largest file: no room for this file.
      return new RvcError('DISK_FULL', `file too large for the filesystem or the file-size limit while trying to ${action} '${path}'`, {
        path, cause: e, hint: 'raise the file-size limit (`ulimit -f`) or use a filesystem that allows larger files, then run the command again',
      });
    case 'EMFILE':
    case 'ENFILE':
      return new RvcError('IO', `too many open files while trying to ${action} '${path}'`, {
        path, cause: e, hint: 'raise the open-file limit (`ulimit -n`) or lower `cache.jobs` / the remote\'s `jobs`',
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new RvcError('PERMISSION_DENIED', `permission denied while trying to ${action} '${path}'`, {
        path, cause: e, hint: 'check the file and folder permissions (a file rvc protected may need `rvc unprotect`)',
      });
    case 'ENOENT':
      return new RvcError('PATH_NOT_FOUND', `'${path}' does not exist (while trying to ${action} it)`, { path, cause: e });
    default:
      return new RvcError('IO', `could not ${action} '${path}': ${msg}`, { path, cause: e });
  }
}

/**
 * One failure as a result reports it (and the CLI prints it with --json): what an RvcError says,
 * without the stack. Results that go on past a failure list these instead of throwing.
 */
export interface Failure {
  code: ErrorCode;
  message: string;
  /** The file or path concerned, when the result names one. */
  path?: string;
  /** What helps, when the error says. */
  hint?: string;
}

/** The Failure an RvcError reports; `path` only when given (results name the path their own way). */
export function failureOf(e: RvcError, path?: string): Failure {
  return { ...(path !== undefined ? { path } : {}), code: e.code, message: e.message, ...(e.hint !== undefined ? { hint: e.hint } : {}) };
}

/** How many failures of each cause (error code) a result keeps in full; the others are counted. */
export const FAILURE_SAMPLE = 20;

/**
 * The failures of a command over many objects, with memory bounded whatever their number: every
 * failure counted (in total and per error code), only the first FAILURE_SAMPLE of each code kept.
 * A million objects missing from a remote cost a million counter increments, not a million
 * records — nor a million lines of output.
 */
export interface FailureSummary<T> {
  /** The sample, in order of occurrence: at most FAILURE_SAMPLE per code. */
  failed: T[];
  /** Every failure, including those not in the sample. */
  failedCount: number;
  /** failedCount per error code. */
  failedByCode: Record<string, number>;
}

export function emptyFailures<T>(): FailureSummary<T> {
  return { failed: [], failedCount: 0, failedByCode: {} };
}

/**
 * Counts one failure of `code`; keeps it in the sample if there is room for its code. `item` may
 * be a function, called only then, so that an uncounted failure costs no record at all.
 */
export function addFailure<T>(into: FailureSummary<T>, code: ErrorCode, item: T | (() => T)): void {
  const n = into.failedByCode[code] ?? 0;
  into.failedByCode[code] = n + 1;
  into.failedCount++;
  if (n < FAILURE_SAMPLE) into.failed.push(typeof item === 'function' ? (item as () => T)() : item);
}

/** Adds the failures of `from` to `into`: counts summed, samples joined within the per-code bound. */
export function mergeFailures<T>(into: FailureSummary<T>, from: FailureSummary<T>, codeOf: (t: T) => string): void {
  const kept: Record<string, number> = {};
  for (const f of into.failed) kept[codeOf(f)] = (kept[codeOf(f)] ?? 0) + 1;
  for (const f of from.failed) {
    const c = codeOf(f);
    if ((kept[c] ?? 0) < FAILURE_SAMPLE) {
      into.failed.push(f);
      kept[c] = (kept[c] ?? 0) + 1;
    }
  }
  for (const [c, n] of Object.entries(from.failedByCode)) into.failedByCode[c] = (into.failedByCode[c] ?? 0) + n;
  into.failedCount += from.failedCount;
}
