/**
 * The one interface every remote implements. Keys are object keys as produced by
 * `objectKey(algo, oid)` (`<algo>/ab/cdef…`), relative to the remote's own prefix; an
 * implementation never sees the repository or the cache.
 */
export interface RemoteObjectInfo {
  key: string;
  size?: number;
}

/** A key, its size and when it was last written (milliseconds since the epoch). */
export interface RemoteKeyDetail {
  key: string;
  size: number;
  modified: number;
}

export interface UploadOptions {
  /** Size of the local file when the caller already knows it (saves a stat). */
  size?: number;
  /** Called with the number of new bytes sent; never counts a retried byte twice. */
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

export interface DownloadOptions {
  /** Called with the number of new bytes received; never counts a retried byte twice. */
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

export interface BytesDownloadOptions extends DownloadOptions {
  /** Where to put the bytes if they fit. */
  into?: Buffer;
  /**
   * Called as bytes arrive in `into`, with how many of its first bytes are filled (0 when an
   * attempt starts, again after a retry), so the caller can work on them before the rest comes
   * (hash a pack's objects while it downloads). A remote may also never call it.
   */
  onFill?: (filled: number) => void;
}

/** A byte range of a remote file: `length` bytes from `offset`. */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface Remote {
  /** The URL as configured, never with credentials. */
  readonly url: string;
  /** Default concurrency for transfers to and from this remote. */
  readonly jobs: number;
  /**
   * Which of `keys` exist. Implementations pick one request per key for few keys and prefix
   * listing for many (see query.ts), so asking about 50,000 keys costs a few hundred requests.
   */
  existing(keys: string[], onProgress?: (done: number) => void): Promise<Set<string>>;
  /** Every key under an optional sub-prefix (e.g. 'blake3/'), streamed page by page. */
  list(prefix?: string): AsyncIterable<string>;
  /**
   * Like `list`, with each key's size and last modification time: what gc needs to tell a pack
   * another machine is uploading right now from one an interrupted run left long ago, and which
   * loose objects are small enough to pack. Same requests as `list` on object stores (the
   * listing carries both); one stat per key on a folder.
   */
  listDetailed(prefix?: string): AsyncIterable<RemoteKeyDetail>;
  /**
   * Upload a local file to `key`. Streams the file (multipart or resumable for large files);
   * memory use does not grow with the file size. Overwriting an existing key is allowed: keys
   * name content, so the bytes are the same.
   */
  upload(key: string, localPath: string, opts?: UploadOptions): Promise<void>;
  /**
   * Upload bytes held in memory to `key` (a pack a push assembled): as `upload`, without a local
   * file to write first and read back.
   */
  uploadBytes(key: string, data: Uint8Array, opts?: UploadOptions): Promise<void>;
  /**
   * Download `key` into `destPath` (a temporary path chosen by the caller) by streaming.
   * Throws RvcError OBJECT_MISSING when the key is absent. The caller verifies the content.
   */
  download(key: string, destPath: string, opts?: DownloadOptions): Promise<void>;
  /**
   * Download `key` whole into memory: as `download`, for a caller that bounds the size (a pack
   * read whole, hashed where it lies instead of written to a file and read back). The bytes land
   * at the start of `opts.into` when they fit (a buffer reused from one pack to the next: a
   * fresh 8 MiB buffer per pack cost more in page faults than the copy), else in a new buffer.
   */
  downloadBytes(key: string, opts?: BytesDownloadOptions): Promise<Buffer>;
  /**
   * Download the bytes of `range` of `key` into `destPath` (one ranged request where the remote
   * has requests) and return how many were written: fewer than asked when the file ends before
   * the range does (none when it ends before `offset`), which the caller judges. Retried and
   * mapped like `download`; OBJECT_MISSING when the key is absent.
   */
  downloadRange(key: string, destPath: string, range: ByteRange, opts?: DownloadOptions): Promise<number>;
  /** Delete `key`; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Remove what interrupted uploads left on the remote, where the remote can have such things
   * (a folder remote's temp files); returns how many were removed and never throws. `everywhere`
   * asks for a thorough pass (gc), not just the cheap one push makes when it starts.
   */
  sweepLeftovers?(opts?: { everywhere?: boolean }): Promise<number>;
  /** Release sockets and clients. The remote must not be used afterwards. */
  close(): Promise<void>;
}
