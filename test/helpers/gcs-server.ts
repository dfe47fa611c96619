/**
 * A small Google Cloud Storage JSON API server for tests, bound to 127.0.0.1 on an ephemeral
 * port. It implements exactly what @google-cloud/storage sends for rvc's operations, with the
 * status codes, headers and bodies GCS documents:
 *
 *   GET    /storage/v1/b/:bucket                          bucket metadata (404 if unknown)
 *   GET    /storage/v1/b/:bucket/o?prefix&maxResults&pageToken   list, paginated
 *   GET    /storage/v1/b/:bucket/o/:object                object metadata
 *   GET    /storage/v1/b/:bucket/o/:object?alt=media      download (Range supported)
 *   DELETE /storage/v1/b/:bucket/o/:object                delete
 *   POST   /upload/storage/v1/b/:bucket/o?uploadType=media|multipart   simple upload
 *   POST   /upload/storage/v1/b/:bucket/o?uploadType=resumable         start a session
 *   PUT    <session URI> with Content-Range               upload (part of) the data / query status
 *
 * Objects live in memory. Checksums (md5Hash, crc32c) are computed here, independently of the
 * client, so the client's upload validation is exercised for real.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

interface StoredObject {
  data: Buffer;
  generation: number;
  contentType: string;
  created: string;
  md5: string;
  crc32c: string;
}

interface Session {
  bucket: string;
  name: string;
  contentType: string;
  chunks: Buffer[];
  received: number;
  done?: StoredObject;
}

export interface GcsServer {
  /** http://127.0.0.1:port — pass as the remote's endpointurl. */
  endpoint: string;
  port: number;
  bucket: string;
  /** The objects of a bucket, for tests that inspect or damage them. */
  objects(bucket?: string): Map<string, StoredObject>;
  /** Replace an object's bytes without going through the API (to simulate corruption). */
  corrupt(name: string, data: Buffer, bucket?: string): void;
  /** Requests served, by route name. */
  readonly requests: Record<string, number>;
  stop(): Promise<void>;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C (Castagnoli), base64 of the big-endian value, as GCS reports it. */
export function crc32cBase64(data: Buffer): string {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

function makeObject(data: Buffer, contentType: string, generation: number): StoredObject {
  return {
    data,
    generation,
    contentType,
    created: new Date().toISOString(),
    md5: createHash('md5').update(data).digest('base64'),
    crc32c: crc32cBase64(data),
  };
}

function resource(bucket: string, name: string, o: StoredObject): Record<string, unknown> {
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${o.generation}`,
    selfLink: `/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
    name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.data.length),
    md5Hash: o.md5,
    crc32c: o.crc32c,
    etag: `${o.md5}`,
    timeCreated: o.created,
    updated: o.created,
  };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, reason: string, message: string): void {
  sendJson(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
}

/** Split a multipart/related body (RFC 2046) into its parts' headers and bytes. */
function parseMultipart(body: Buffer, boundary: string): { headers: Record<string, string>; data: Buffer }[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; data: Buffer }[] = [];
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    let start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), start);
    if (next === -1) break;
    const part = body.subarray(start, next);
    const sep = part.indexOf('\r\n\r\n');
    const headerText = sep === -1 ? '' : part.subarray(0, sep).toString();
    const headers: Record<string, string> = {};
    for (const line of headerText.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    parts.push({ headers, data: sep === -1 ? part : part.subarray(sep + 4) });
    pos = next + 2;
  }
  return parts;
}

export async function startGcsServer(opts: { buckets?: string[] } = {}): Promise<GcsServer> {
  const bucketNames = opts.buckets ?? ['rvc-test'];
  const buckets = new Map<string, Map<string, StoredObject>>(bucketNames.map((b) => [b, new Map()]));
  const sessions = new Map<string, Session>();
  const requests: Record<string, number> = {};
  let generation = 1_700_000_000_000_000;

  const count = (route: string): void => {
    requests[route] = (requests[route] ?? 0) + 1;
  };

  const store = (bucket: string, name: string, data: Buffer, contentType: string): StoredObject => {
    const o = makeObject(data, contentType, ++generation);
    buckets.get(bucket)!.set(name, o);
    return o;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);

    // /upload/storage/v1/b/:bucket/o
    if (segs[0] === 'upload' && segs[1] === 'storage' && segs[2] === 'v1' && segs[3] === 'b' && segs[5] === 'o' && segs.length === 6) {
      const bucket = segs[4]!;
      const objects = buckets.get(bucket);
      const uploadType = q.get('uploadType');
      if (method === 'PUT' && q.has('upload_id')) {
        count('resumable-put');
        return resumablePut(req, res, q.get('upload_id')!);
      }
      if (method === 'DELETE' && q.has('upload_id')) {
        count('resumable-cancel');
        sessions.delete(q.get('upload_id')!);
        res.writeHead(499).end();
        return;
      }
      if (method !== 'POST') return sendError(res, 405, 'methodNotAllowed', `${method} not allowed`);
      const body = await readBody(req);
      if (!objects) return sendError(res, 404, 'notFound', 'The specified bucket does not exist.');
      if (uploadType === 'media') {
        count('upload-media');
        const name = q.get('name');
        if (!name) return sendError(res, 400, 'required', 'Required parameter: name');
        const o = store(bucket, name, body, req.headers['content-type'] ?? 'application/octet-stream');
        return sendJson(res, 200, resource(bucket, name, o));
      }
      if (uploadType === 'multipart') {
        count('upload-multipart');
        const m = /boundary="?([^";]+)"?/i.exec(req.headers['content-type'] ?? '');
        if (!m) return sendError(res, 400, 'invalid', 'multipart upload without a boundary');
        const parts = parseMultipart(body, m[1]!);
        if (parts.length !== 2) return sendError(res, 400, 'invalid', `expected 2 parts, got ${parts.length}`);
        const meta = JSON.parse(parts[0]!.data.toString() || '{}') as { name?: string; contentType?: string };
        const name = q.get('name') ?? meta.name;
        if (!name) return sendError(res, 400, 'required', 'Required parameter: name');
        const o = store(bucket, name, Buffer.from(parts[1]!.data), parts[1]!.headers['content-type'] ?? meta.contentType ?? 'application/octet-stream');
        return sendJson(res, 200, resource(bucket, name, o));
      }
      if (uploadType === 'resumable') {
        count('resumable-start');
        const meta = body.length ? (JSON.parse(body.toString()) as { name?: string; contentType?: string }) : {};
        const name = q.get('name') ?? meta.name;
        if (!name) return sendError(res, 400, 'required', 'Required parameter: name');
        const id = randomUUID();
        sessions.set(id, {
          bucket,
          name,
          contentType: (req.headers['x-upload-content-type'] as string | undefined) ?? meta.contentType ?? 'application/octet-stream',
          chunks: [],
          received: 0,
        });
        // Built from Host so that a client talking through a proxy keeps going through it.
        const location = `http://${req.headers.host}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        res.writeHead(200, { location, 'content-length': 0 });
        res.end();
        return;
      }
      return sendError(res, 400, 'invalid', `unsupported uploadType '${uploadType}'`);
    }

    // /storage/v1/b/:bucket[/o[/:object]]
    if (segs[0] === 'storage' && segs[1] === 'v1' && segs[2] === 'b' && segs.length >= 4) {
      const bucket = segs[3]!;
      const objects = buckets.get(bucket);
      await readBody(req);
      if (segs.length === 4 && method === 'GET') {
        count('bucket-get');
        if (!objects) return sendError(res, 404, 'notFound', 'The specified bucket does not exist.');
        return sendJson(res, 200, { kind: 'storage#bucket', id: bucket, name: bucket, location: 'US', storageClass: 'STANDARD', metageneration: '1' });
      }
      if (segs[4] !== 'o') return sendError(res, 404, 'notFound', 'Not Found');
      if (!objects) return sendError(res, 404, 'notFound', 'The specified bucket does not exist.');
      if (segs.length === 5 && method === 'GET') {
        count('list');
        const prefix = q.get('prefix') ?? '';
        const max = Math.min(1000, Math.max(1, Number(q.get('maxResults') ?? 1000) || 1000));
        const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString() : undefined;
        const names = [...objects.keys()].filter((n) => n.startsWith(prefix) && (after === undefined || n > after)).sort();
        const page = names.slice(0, max);
        const body: Record<string, unknown> = { kind: 'storage#objects' };
        if (page.length > 0) body.items = page.map((n) => resource(bucket, n, objects.get(n)!));
        if (names.length > max) body.nextPageToken = Buffer.from(page[page.length - 1]!).toString('base64url');
        return sendJson(res, 200, body);
      }
      const name = segs.slice(5).join('/');
      const o = objects.get(name);
      if (method === 'DELETE') {
        count('delete');
        if (!o) return sendError(res, 404, 'notFound', `No such object: ${bucket}/${name}`);
        objects.delete(name);
        res.writeHead(204).end();
        return;
      }
      if (method !== 'GET') return sendError(res, 405, 'methodNotAllowed', `${method} not allowed`);
      if (!o) {
        count(q.get('alt') === 'media' ? 'download' : 'metadata');
        return sendError(res, 404, 'notFound', `No such object: ${bucket}/${name}`);
      }
      if (q.get('alt') !== 'media') {
        count('metadata');
        return sendJson(res, 200, resource(bucket, name, o));
      }
      count('download');
      const headers: Record<string, string | number> = {
        'content-type': o.contentType,
        'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5}`,
        'x-goog-generation': String(o.generation),
        'x-goog-stored-content-length': o.data.length,
        'x-goog-stored-content-encoding': 'identity',
        'accept-ranges': 'bytes',
      };
      const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
      if (range && (range[1] !== '' || range[2] !== '')) {
        const size = o.data.length;
        let start: number;
        let end: number;
        if (range[1] === '') {
          start = Math.max(0, size - Number(range[2]));
          end = size - 1;
        } else {
          start = Number(range[1]);
          end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
        }
        if (start >= size || start > end) {
          res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
          return;
        }
        res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
        res.end(o.data.subarray(start, end + 1));
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': o.data.length });
      res.end(o.data);
      return;
    }
    await readBody(req);
    sendError(res, 404, 'notFound', `no route for ${method} ${url.pathname}`);
  };

  /**
   * One PUT of a resumable session. `Content-Range: bytes a-b/total` carries bytes a..b;
   * `bytes a-*\/total` or `bytes a-*\/*` carries everything from a to the end of this request
   * (which then finishes the object); `bytes *\/total|*` only asks how much has arrived.
   * Incomplete sessions answer 308 with `Range: bytes=0-(n-1)`.
   */
  const resumablePut = async (req: http.IncomingMessage, res: http.ServerResponse, id: string): Promise<void> => {
    const body = await readBody(req);
    const s = sessions.get(id);
    if (!s) return sendError(res, 404, 'notFound', 'No such upload session');
    const progress = (): void => {
      res.writeHead(308, { ...(s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {}), 'content-length': 0 });
      res.end();
    };
    if (s.done) return sendJson(res, 200, resource(s.bucket, s.name, s.done));
    const cr = (req.headers['content-range'] ?? '').trim();
    const status = /^bytes \*\/(\d+|\*)$/.exec(cr);
    let finish = false;
    if (status) {
      if (status[1] !== '*' && Number(status[1]) === s.received) finish = true;
      else return progress();
    } else {
      const m = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(cr);
      if (!m && cr !== '') return sendError(res, 400, 'invalid', `bad Content-Range '${cr}'`);
      const start = m ? Number(m[1]) : 0;
      if (start > s.received) return sendError(res, 400, 'invalid', `upload resumed at ${start} but only ${s.received} bytes arrived`);
      // Bytes the server already has (a client resending after a lost reply) are skipped.
      const fresh = body.subarray(Math.min(body.length, s.received - start));
      if (fresh.length > 0) {
        s.chunks.push(Buffer.from(fresh));
        s.received += fresh.length;
      }
      const total = m ? m[3]! : String(s.received);
      const openEnded = !m || m[2] === '*';
      if (total !== '*') {
        if (s.received > Number(total)) return sendError(res, 400, 'invalid', 'more bytes than the declared total');
        finish = s.received === Number(total);
      } else {
        finish = openEnded;
      }
      if (!finish) return progress();
    }
    const o = store(s.bucket, s.name, Buffer.concat(s.chunks), s.contentType);
    s.done = o;
    s.chunks = [];
    sendJson(res, 200, resource(s.bucket, s.name, o));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'internalError', e instanceof Error ? e.message : String(e));
      else res.destroy();
    });
  });
  // Long-lived keep-alive sockets would make close() wait; tests want a quick stop.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket: bucketNames[0]!,
    objects: (bucket = bucketNames[0]!) => buckets.get(bucket)!,
    corrupt(name, data, bucket = bucketNames[0]!) {
      const o = buckets.get(bucket)!.get(name);
      if (!o) throw new Error(`no object ${name}`);
      buckets.get(bucket)!.set(name, makeObject(data, o.contentType, o.generation));
    },
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Where a GCS test runs: the fake server, or a real bucket when RVC_TEST_GCS_URL is set. */
export interface GcsTarget {
  url: string;
  options: import('../../src/remote/index.js').RemoteOptions;
  server?: GcsServer;
  stop(): Promise<void>;
}

/**
 * The fake server by default; a real bucket when RVC_TEST_GCS_URL (gs://bucket/prefix) is set,
 * authenticated by application-default credentials (GOOGLE_APPLICATION_CREDENTIALS). Each
 * target gets a fresh random prefix; on a real bucket stop() deletes everything under it.
 */
export async function gcsTarget(): Promise<GcsTarget> {
  const run = `rvc-test-${randomBytes(8).toString('hex')}`;
  const real = process.env.RVC_TEST_GCS_URL;
  if (real) {
    const url = `${real.replace(/\/+$/, '')}/${run}`;
    const options = {
      ...(process.env.RVC_TEST_GCS_PROJECT ? { projectid: process.env.RVC_TEST_GCS_PROJECT } : {}),
      retry: { retries: 6, baseMs: 100, maxMs: 2000 },
    };
    return {
      url,
      options,
      async stop() {
        const { openRemote } = await import('../../src/remote/index.js');
        const remote = await openRemote(url, options);
        for await (const k of remote.list()) await remote.delete(k);
        await remote.close();
      },
    };
  }
  const server = await startGcsServer();
  return { url: `gs://${server.bucket}/${run}`, options: fakeGcsOptions(server.endpoint), server, stop: () => server.stop() };
}

/** Options that reach the fake server (or a proxy in front of it) at `endpoint`. */
export function fakeGcsOptions(endpoint: string): import('../../src/remote/index.js').RemoteOptions {
  return {
    endpointurl: endpoint,
    projectid: 'rvc-test',
    // The library's own retries start at a 1 s delay; rvc's retry loop is enough and tunable.
    requestretries: 0,
    retry: { retries: 6, baseMs: 2, maxMs: 40 },
    // A cut connection shows up only as silence under this client (see streaming.ts), so the
    // fault tests need a short one; the in-memory server answers in milliseconds.
    readtimeout: 1,
  };
}
