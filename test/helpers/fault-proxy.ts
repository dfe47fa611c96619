/**
 * A loopback HTTP proxy that puts an unreliable network in front of a test server.
 *
 * For a configurable fraction of requests (drawn from a seeded PRNG, so a sequential run is
 * reproducible) it injects one of:
 *   - 'status':   a 500 or 503 answer in the service's own error format; the request is not
 *                 forwarded, as when a front end sheds load;
 *   - 'reset':    the connection is destroyed before anything is forwarded;
 *   - 'truncate': (GET with a body only) the real response starts, then the connection is cut
 *                 half-way through the body, after Content-Length announced the full size.
 *   - 'stall':    the answer does not come: either nothing is forwarded and no byte is sent, or
 *                 (for half of the GETs with a body) the response stops half-way; the connection
 *                 is only cut after `stallMs`, long past a client timeout set below it;
 * Faults never hit a request after the server has acted on it, except for a truncated GET, which
 * has no effect on the server; so every injected fault is one a correct client can retry.
 *
 * Rules make chosen requests fail every time (e.g. always 403 for one key's upload), to test how
 * a permanent failure of one object is reported while the rest go through.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind = 'status' | 'reset' | 'truncate' | 'stall';
export type Flavor = 's3' | 'gcs';

export interface FaultRule {
  /** Matched against the decoded request path and query. */
  match: RegExp;
  status: number;
  /** Stall instead of answering with `status` (the connection is cut after stallMs). */
  stall?: boolean;
  /** Only these methods (upper case); all when omitted. */
  methods?: string[];
}

export interface FaultProxyOptions {
  /** Where requests go, e.g. http://127.0.0.1:4568. */
  target: string;
  /** Error bodies in S3 XML or GCS JSON form. */
  flavor: Flavor;
  /** Fraction of requests that get a random fault, 0..1. */
  faultRate?: number;
  seed?: number;
  kinds?: FaultKind[];
  /** How long a stalled request is held before its connection is cut (default 5000 ms). */
  stallMs?: number;
}

export interface FaultProxy {
  /** http://127.0.0.1:port — use as the remote's endpointurl. */
  url: string;
  readonly stats: { requests: number; status: number; reset: number; truncate: number; stall: number; rule: number };
  /** Every request seen, as `METHOD decoded-path-and-query`, in arrival order. */
  readonly log: string[];
  /** The requests that carried a Range header, as `METHOD decoded-path-and-query bytes=a-b`. */
  readonly ranges: string[];
  setFaultRate(rate: number): void;
  addRule(rule: FaultRule): void;
  clearRules(): void;
  stop(): Promise<void>;
}

/** mulberry32: tiny, fast, good enough to spread faults evenly and reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const S3_CODES: Record<number, string> = {
  403: 'AccessDenied',
  404: 'NoSuchKey',
  500: 'InternalError',
  503: 'SlowDown',
};
const GCS_REASONS: Record<number, string> = {
  403: 'forbidden',
  404: 'notFound',
  500: 'backendError',
  503: 'backendError',
};

function errorResponse(res: http.ServerResponse, flavor: Flavor, status: number, method: string): void {
  let body: string;
  let type: string;
  if (flavor === 's3') {
    const code = S3_CODES[status] ?? 'InternalError';
    type = 'application/xml';
    body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected fault</Message><RequestId>fault-proxy</RequestId></Error>`;
  } else {
    const reason = GCS_REASONS[status] ?? 'backendError';
    type = 'application/json; charset=UTF-8';
    body = JSON.stringify({ error: { code: status, message: 'injected fault', errors: [{ reason, domain: 'global', message: 'injected fault' }] } });
  }
  // A HEAD answer has no body, but keeps the length it would have had.
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(method === 'HEAD' ? undefined : body);
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const random = seededRandom(opts.seed ?? 1);
  const kinds = opts.kinds ?? ['status', 'reset', 'truncate'];
  let rate = opts.faultRate ?? 0;
  let rules: FaultRule[] = [];
  const stats = { requests: 0, status: 0, reset: 0, truncate: 0, stall: 0, rule: 0 };
  const log: string[] = [];
  const ranges: string[] = [];
  const stallMs = opts.stallMs ?? 5000;
  const stalled = new Set<NodeJS.Timeout>();
  const later = (fn: () => void): void => {
    const t = setTimeout(() => {
      stalled.delete(t);
      fn();
    }, stallMs);
    stalled.add(t);
  };
  /** Holds a request without answering, then drops its connection. */
  const stall = (req: http.IncomingMessage, random = true): void => {
    if (random) stats.stall++;
    req.resume();
    later(() => req.socket.destroy());
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, truncate: boolean, stallBody = false): void => {
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (up) => {
        const len = Number(up.headers['content-length'] ?? NaN);
        if (!truncate) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        if (!(len > 1)) {
          // Nothing to cut short: drop the connection instead.
          stats.reset++;
          up.resume();
          req.socket.destroy();
          return;
        }
        if (stallBody) stats.stall++;
        else stats.truncate++;
        res.writeHead(up.statusCode ?? 502, up.headers);
        const limit = Math.floor(len / 2);
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= limit) return;
          const part = chunk.subarray(0, limit - sent);
          sent += part.length;
          res.write(part);
          if (sent >= limit) {
            if (stallBody) {
              // Send no more; the client's read timeout must notice.
              up.destroy();
              later(() => res.socket?.destroy());
              return;
            }
            // Give the partial body a moment to reach the client, then cut the connection.
            setTimeout(() => {
              res.socket?.destroy();
              up.destroy();
            }, 5);
          }
        });
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502).end();
      } else res.destroy();
    });
    req.pipe(upstream);
  };

  const server = http.createServer((req, res) => {
    stats.requests++;
    const method = req.method ?? 'GET';
    let where = req.url ?? '/';
    try {
      where = decodeURIComponent(where);
    } catch {
      // Keep the raw form; rules are still matched against it.
    }
    log.push(`${method} ${where}`);
    if (req.headers.range) ranges.push(`${method} ${where} ${req.headers.range}`);
    const rule = rules.find((r) => r.match.test(where) && (!r.methods || r.methods.includes(method)));
    if (rule?.stall) {
      stats.rule++;
      stall(req, false);
      return;
    }
    if (rule) {
      stats.rule++;
      req.resume();
      req.on('end', () => errorResponse(res, opts.flavor, rule.status, method));
      return;
    }
    if (rate > 0 && random() < rate) {
      let kind = kinds[Math.floor(random() * kinds.length)]!;
      if (kind === 'truncate' && method !== 'GET') kind = 'status';
      switch (kind) {
        case 'status': {
          stats.status++;
          const status = random() < 0.5 ? 500 : 503;
          req.resume();
          req.on('end', () => errorResponse(res, opts.flavor, status, method));
          return;
        }
        case 'reset':
          stats.reset++;
          req.socket.destroy();
          return;
        case 'truncate':
          forward(req, res, true);
          return;
        case 'stall':
          if (method === 'GET' && random() < 0.5) forward(req, res, true, true);
          else stall(req);
          return;
      }
    }
    forward(req, res, false);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    log,
    ranges,
    setFaultRate(r) {
      rate = r;
    },
    addRule(r) {
      rules.push(r);
    },
    clearRules() {
      rules = [];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of stalled) clearTimeout(t);
        stalled.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
