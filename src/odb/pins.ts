import fs from 'node:fs';
import path from 'node:path';
import { HASH_ALGOS, type HashAlgo } from '../model/oid.js';
import { isStaleTempName, tempPathFor, writeFileAtomic } from '../fsutil/atomic.js';
import { fromFsError } from '../errors.js';

/**
 * Pins: the objects a live process has put in (or found in) the cache and relies on before the
 * reference that keeps them (a pointer, an rvc.lock entry) is written. Without them a `gc`
 * running meanwhile sees those objects as garbage.
 *
 * A pin is one file in `<tmp>/pins/`, named like a temp file of its writer
 * (`.pin.<pid>.<tag>.tmp`), holding JSON `{"pid", "command", "objects": {"<algo>": [oid…]}}`.
 * The name carries the writer's PID, so a pin whose process is gone is stale by the same rule
 * as any other temp file and is swept with them (after a crash, by gc); a pin of a live process
 * is honoured by gc. Callers register pins under the repository lock (see Repo.pinObjects),
 * which gc holds for its whole run: a gc either finished before the pin existed (and the writer
 * then finds what it deleted missing and stores it again) or starts after and keeps it.
 */

const PIN_RE = /^\.pin\.\d+\.[0-9a-f]{8}\.tmp$/;

export interface PinEntry {
  hash: HashAlgo;
  oid: string;
}

/** Writes a pin for `entries` in `dir`; returns its path (removed by the caller when done). */
export function writePin(dir: string, command: string, entries: readonly PinEntry[]): string {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fromFsError(e, dir, 'create folder');
  }
  const objects: Record<string, string[]> = {};
  for (const e of entries) (objects[e.hash] ??= []).push(e.oid);
  const file = tempPathFor(path.join(dir, 'pin'));
  writeFileAtomic(file, JSON.stringify({ pid: process.pid, command, objects }), { fsync: false });
  return file;
}

export function removePin(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // a pin left behind only keeps objects until its process is gone
  }
}

/**
 * The objects pinned by live processes in `dir`, per algorithm. Pins whose process is gone are
 * removed. An unreadable pin of a live process cannot be honoured object by object, so it is
 * reported in `unreadable` (gc then refuses rather than guess).
 */
export function livePins(dir: string): { objects: Map<HashAlgo, Set<string>>; unreadable: string[] } {
  const objects = new Map<HashAlgo, Set<string>>();
  const unreadable: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { objects, unreadable };
  }
  for (const name of names) {
    if (!PIN_RE.test(name)) continue;
    const file = path.join(dir, name);
    if (isStaleTempName(name)) {
      removePin(file);
      continue;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      unreadable.push(file);
      continue;
    }
    const objs = (raw as { objects?: unknown } | null)?.objects;
    if (typeof objs !== 'object' || objs === null) {
      unreadable.push(file);
      continue;
    }
    for (const algo of HASH_ALGOS) {
      const list = (objs as Record<string, unknown>)[algo];
      if (!Array.isArray(list)) continue;
      let s = objects.get(algo);
      if (!s) objects.set(algo, (s = new Set()));
      for (const oid of list) if (typeof oid === 'string') s.add(oid);
    }
  }
  return { objects, unreadable };
}
