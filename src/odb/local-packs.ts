/**
 * Packs kept in the local cache: `<cache>/packed/<algo>/<id>.pack` and `<id>.idx`, the same two
 * formats as on a remote (`model/pack.ts`), where `<id>` is the hash of the index text. A fetch
 * that downloads a remote's pack whole and finds every object in it sound keeps it as it is
 * instead of writing one cache file per object; the objects of a local pack are "in the cache".
 *
 * The index is written (atomically) before its pack is renamed in, so a pack is never there
 * without its index except when gc or fsck was deleting it (index first, then pack): a pack file
 * without an index is a leftover; an index without its pack is ignored (its objects are absent).
 * This folder is apart from `packs/<algo>/`, the cached indexes of remotes' packs, which remote
 * reads sweep and prune: they can never drop the index of a pack the cache holds.
 *
 * The lookup is loaded once per store object, lazily (an index is read, checked against its name
 * and against its pack's size, and parsed straight into columns, `PackColumns`), with a
 * `PackLookup` over them (the same two a remote's pack set uses): a million packed objects cost
 * no object or string each (about 65 MB of typed arrays, loaded in about 1 s on a loaded 2-core
 * machine; to be measured again).
 */
import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import type { HashAlgo } from '../model/oid.js';
import { PackLookup, packIndexBytes, parsePackColumns, parsePackIndex, type PackColumns, type PackIndex } from '../model/pack.js';
import { isStaleTempName, writeFileAtomic } from '../fsutil/atomic.js';

export const LOCAL_PACK_ROOT = 'packed';

/** Where an object lies in a local pack. */
export interface LocalPacked {
  id: string;
  /** The pack file. */
  file: string;
  offset: number;
  length: number;
  /** The pack's number in this lookup. */
  n: number;
}

/** Thrown by read when the pack vanished (a gc deleted it): the caller looks for a loose copy. */
export class PackGone extends Error {}

export class LocalPacks {
  /** The loaded packs' lookup (pack number p is `ids[p]`); undefined until first used. */
  private lookup: PackLookup | undefined;
  private ids: string[] = [];
  /** The pack file of each pack number, joined once: `find` runs for every object of a checkout. */
  private files: string[] = [];
  private readonly fds = new Map<number, number>();

  constructor(
    readonly dir: string,
    private readonly algo: HashAlgo,
    private readonly hash: (data: Uint8Array) => string,
  ) {}

  private ensure(): PackLookup {
    if (this.lookup) return this.lookup;
    const found: [string, PackColumns][] = [];
    let total = 0;
    for (const p of this.scan().packs) {
      let text: Buffer;
      try {
        text = fs.readFileSync(p.idx);
      } catch {
        continue; // deleted meanwhile
      }
      if (this.hash(text) !== p.id) continue;
      const idx = this.parseLoaded(text, p.size);
      if (idx) {
        found.push([p.id, idx]);
        total += idx.n;
      }
    }
    this.lookup = new PackLookup(total);
    for (const [id, idx] of found) this.addLoaded(id, idx);
    return this.lookup;
  }

  /** The parsed index if it matches its name and its pack's size; undefined otherwise (fsck reports it). */
  private checkIndex(id: string, text: Buffer, packSize: number): PackIndex | undefined {
    if (this.hash(text) !== id) return undefined;
    try {
      const index = parsePackIndex(text.toString('utf8'), this.algo, path.join(this.dir, `${id}.idx`));
      return index.packSize === packSize ? index : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * An index (already checked against its name) read straight from its bytes into columns, if
   * it parses and matches its pack's size; undefined otherwise. (gc and fsck use parsePackIndex,
   * which also checks that no two objects overlap.)
   */
  private parseLoaded(text: Buffer, packSize: number): PackColumns | undefined {
    try {
      const c = parsePackColumns(text, this.algo, this.dir, { overlap: false });
      return c.packSize === packSize ? c : undefined;
    } catch {
      return undefined;
    }
  }

  private addLoaded(id: string, idx: PackColumns): void {
    this.ids.push(id);
    this.files.push(this.packFile(id));
    this.lookup!.add(idx);
  }

  find(oid: string): LocalPacked | undefined {
    const lookup = this.ensure();
    const at = lookup.find(oid);
    if (!at) return undefined;
    const idx = lookup.packs[at.p]!;
    return { id: this.ids[at.p]!, file: this.files[at.p]!, offset: idx.offsets[at.j]!, length: idx.lengths[at.j]!, n: at.p };
  }

  has(oid: string): boolean {
    return this.ensure().has(oid);
  }

  /**
   * The folder's packs: those with an index and a pack file (with the pack's size), and the pack
   * files without an index, or temp files of killed writers (leftovers).
   */
  scan(): { packs: { id: string; idx: string; pack: string; size: number }[]; leftovers: string[] } {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return { packs: [], leftovers: [] };
      throw fromFsError(e, this.dir, 'list');
    }
    const set = new Set(names);
    const packs: { id: string; idx: string; pack: string; size: number }[] = [];
    const leftovers: string[] = [];
    for (const n of names.sort()) {
      const m = /^([0-9a-f]+)\.pack$/.exec(n);
      if (m) {
        const file = path.join(this.dir, n);
        if (!set.has(`${m[1]}.idx`)) {
          leftovers.push(file);
          continue;
        }
        let size: number;
        try {
          size = fs.statSync(file).size;
        } catch {
          continue;
        }
        packs.push({ id: m[1]!, idx: path.join(this.dir, `${m[1]}.idx`), pack: file, size });
      } else if (isStaleTempName(n)) leftovers.push(path.join(this.dir, n));
    }
    return { packs, leftovers };
  }

  packFile(id: string): string {
    return path.join(this.dir, `${id}.pack`);
  }

  /**
   * Reads `oid`'s bytes out of its pack into `buf` at `at` (a Buffer of its length when
   * omitted). Throws PackGone when the pack is not there any more.
   */
  read(loc: LocalPacked, buf: Buffer = Buffer.allocUnsafe(loc.length), at = 0): Buffer {
    const p = loc.n;
    let fd = this.fds.get(p);
    if (fd === undefined) {
      try {
        fd = fs.openSync(loc.file, 'r');
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') throw new PackGone(loc.file);
        throw fromFsError(e, loc.file, 'read');
      }
      this.fds.set(p, fd);
    }
    let n = 0;
    while (n < loc.length) {
      let k: number;
      try {
        k = fs.readSync(fd, buf, at + n, loc.length - n, loc.offset + n);
      } catch (e) {
        throw fromFsError(e, loc.file, 'read');
      }
      if (k === 0) {
        throw new RvcError('OBJECT_CORRUPT', `pack ${loc.file} ends before the object at ${loc.offset} (${loc.length} bytes)`, {
          path: loc.file, hint: '`rvc fsck --repair` removes the damaged pack; then `rvc pull` fetches its objects again',
        });
      }
      n += k;
    }
    return buf.subarray(at, at + loc.length);
  }

  /**
   * Puts a downloaded pack (`tmpPack`, on the cache's filesystem, its objects already verified)
   * into the folder under the index `index`: the index first, then the pack by rename. Returns
   * the local id.
   */
  adopt(tmpPack: string, index: PackColumns, mode: number, makeDir: (dir: string) => void, indexText?: Uint8Array): string {
    // The caller's copy of the index text (the remote's, parsed into `index`) spares writing it again.
    const text = indexText ?? packIndexBytes(index);
    const id = this.hash(text);
    const idx = path.join(this.dir, `${id}.idx`);
    const pack = this.packFile(id);
    // Written even when a pack of this id is there: that copy may be damaged (a rename replaces
    // it whole; a reader holding it open keeps reading the old file).
    makeDir(this.dir);
    // A crash between the two leaves an index without its pack, which means nothing.
    writeFileAtomic(idx, text, { mode, fsync: false });
    try {
      fs.chmodSync(tmpPack, mode);
      fs.renameSync(tmpPack, pack);
    } catch (e) {
      // The caller removes its temp file (or reads the objects out of it one by one).
      throw fromFsError(e, pack, 'write cache pack');
    }
    if (this.lookup) this.addLoaded(id, index);
    return id;
  }

  /** Every pack with its index as it is on disk (checked) or the reason it is not usable. */
  *packs(): Generator<{ id: string; file: string; index: PackIndex | undefined }> {
    for (const p of this.scan().packs) {
      let text: Buffer;
      try {
        text = fs.readFileSync(p.idx);
      } catch {
        continue;
      }
      yield { id: p.id, file: p.pack, index: this.checkIndex(p.id, text, p.size) };
    }
  }

  /** Deletes a pack: its index first, so no reader finds an index whose pack is gone. */
  deletePack(id: string): void {
    for (const f of [path.join(this.dir, `${id}.idx`), this.packFile(id)]) {
      try {
        fs.rmSync(f, { force: true });
      } catch (e) {
        throw fromFsError(e, f, 'remove');
      }
    }
  }

  /** Forgets the lookup (after packs were deleted): the next use reads the folder again. */
  reload(): void {
    for (const fd of this.fds.values()) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.fds.clear();
    this.lookup = undefined;
    this.ids = [];
    this.files = [];
  }
}
