import pLimit from 'p-limit';

/** What a remote offers for answering "which of these keys exist?". */
export interface ExistenceOps {
  /** One request: does `key` exist? */
  head(key: string): Promise<boolean>;
  /** Every key under `prefix` (which ends in '/'), relative to the remote root. */
  list(prefix: string): AsyncIterable<string>;
  /** Concurrent requests allowed. */
  jobs: number;
  /** Up to this many keys, ask one by one: cheaper than any listing and independent of remote size. */
  headThreshold: number;
  /** Keys one list request returns (1000 on S3/GCS); Infinity when a folder listing is one call. */
  pageSize: number;
  /**
   * Whether listing the common parent of the shard folders (`<algo>/`) in one paginated pass is
   * a sensible option. True for object stores, where that is a flat listing; false for folders,
   * where it is a readdir per shard anyway.
   */
  parentListing: boolean;
}

export type QueryStrategy = 'head' | 'list-dirs' | 'list-parent';

export interface QueryPlan {
  strategy: QueryStrategy;
  /** Estimated request rounds (requests divided by concurrency) of each option, for tests and tuning. */
  rounds: Record<QueryStrategy, number>;
}

const SHARD_RE = /^[0-9a-f]{2}$/;
const SHARDS_PER_ALGO = 256;

function dirOf(key: string): string | undefined {
  const i = key.lastIndexOf('/');
  return i <= 0 ? undefined : key.slice(0, i + 1);
}

/**
 * Decide how to query the keys outside the probed shard. `perDir` is how many objects the probe
 * found in one shard folder; object keys are uniformly distributed hashes, so every shard holds
 * about as many and the remote holds about perDir × 256 per algorithm.
 */
export function planQuery(
  remainingKeys: number,
  remainingDirs: string[],
  perDir: number,
  ops: Pick<ExistenceOps, 'jobs' | 'pageSize' | 'parentListing'>,
): QueryPlan {
  const jobs = Math.max(1, ops.jobs);
  const pagesPerDir = Number.isFinite(ops.pageSize) ? Math.max(1, Math.ceil(Math.max(1, perDir) / ops.pageSize)) : 1;
  const rounds: Record<QueryStrategy, number> = {
    head: Math.ceil(remainingKeys / jobs),
    'list-dirs': Math.ceil((remainingDirs.length * pagesPerDir) / jobs),
    'list-parent': Number.POSITIVE_INFINITY,
  };
  if (ops.parentListing && Number.isFinite(ops.pageSize) && remainingDirs.length > 0) {
    const parents = new Set(remainingDirs.map((d) => dirOf(d.slice(0, -1)) ?? ''));
    const shardy = remainingDirs.every((d) => SHARD_RE.test(d.slice(0, -1).split('/').pop() ?? ''));
    if (parents.size === 1 && shardy) {
      // Pagination of one prefix is sequential: every page waits for the previous token.
      rounds['list-parent'] = Math.max(1, Math.ceil((Math.max(1, perDir) * SHARDS_PER_ALGO) / ops.pageSize));
    }
  }
  let strategy: QueryStrategy = 'list-dirs';
  if (rounds['list-parent'] < rounds[strategy]) strategy = 'list-parent';
  if (rounds.head < rounds[strategy]) strategy = 'head';
  return { strategy, rounds };
}

/**
 * Which of `keys` exist, at a cost that stays sane from 1 to 10⁶ keys and from an empty remote
 * to a huge one (the approach DVC takes, with the estimate taken from a shard the query needs
 * anyway, so the probe is never wasted):
 *  - few keys: one HEAD each, `jobs` at a time;
 *  - many keys: list the shard folder holding most of them, estimate the remote's size from it,
 *    then pick whichever of HEAD-per-key, listing each needed shard concurrently, or one listing
 *    of the algorithm prefix costs the fewest request rounds.
 */
export async function queryExisting(
  keys: string[],
  ops: ExistenceOps,
  onProgress?: (done: number) => void,
  onPlan?: (plan: QueryPlan) => void,
): Promise<Set<string>> {
  // Iterated as a Set, and the set of keys a parent listing looks for (no array of them beside).
  const unique = new Set(keys);
  const found = new Set<string>();
  let done = 0;
  const tick = (n: number): void => {
    done += n;
    onProgress?.(done);
  };
  const limit = pLimit(Math.max(1, ops.jobs));
  const headAll = async (list: string[]): Promise<void> => {
    await Promise.all(
      list.map((k) =>
        limit(async () => {
          if (await ops.head(k)) found.add(k);
          tick(1);
        }),
      ),
    );
  };
  const listInto = async (prefix: string, wanted: Set<string>): Promise<number> => {
    let seen = 0;
    for await (const k of ops.list(prefix)) {
      seen++;
      if (wanted.has(k)) found.add(k);
    }
    return seen;
  };

  if (unique.size <= ops.headThreshold) {
    await headAll([...unique]);
    return found;
  }

  const groups = new Map<string, string[]>();
  const loose: string[] = [];
  for (const k of unique) {
    const d = dirOf(k);
    if (d === undefined) loose.push(k);
    else {
      const g = groups.get(d);
      if (g) g.push(k);
      else groups.set(d, [k]);
    }
  }
  if (groups.size === 0) {
    await headAll(loose);
    return found;
  }

  let probeDir = '';
  let probeSize = -1;
  for (const [d, g] of groups) {
    if (g.length > probeSize) {
      probeDir = d;
      probeSize = g.length;
    }
  }
  const probeKeys = groups.get(probeDir)!;
  groups.delete(probeDir);
  const perDir = await listInto(probeDir, new Set(probeKeys));
  tick(probeKeys.length);

  const remainingDirs = [...groups.keys()];
  const remainingKeys = unique.size - probeKeys.length - loose.length;
  const plan = planQuery(remainingKeys, remainingDirs, perDir, ops);
  onPlan?.(plan);

  const work: Promise<void>[] = [headAll(loose)];
  switch (plan.strategy) {
    case 'head':
      work.push(headAll([...groups.values()].flat()));
      break;
    case 'list-dirs':
      for (const [d, g] of groups) {
        work.push(
          limit(async () => {
            await listInto(d, new Set(g));
            tick(g.length);
          }),
        );
      }
      break;
    case 'list-parent': {
      const parent = dirOf(remainingDirs[0]!.slice(0, -1)) ?? '';
      // Every key is looked for (a second Set of the remaining ones cost as much again): those
      // of the probed shard get the answer its listing gave, and a key outside every shard
      // folder is never listed under one.
      work.push(
        limit(async () => {
          await listInto(parent, unique);
          tick(remainingKeys);
        }),
      );
      break;
    }
  }
  await Promise.all(work);
  return found;
}
