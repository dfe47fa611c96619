import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseTree, serializeTree, diffTrees, type TreeEntry } from '../../src/model/tree.js';
import { rvcError as err } from '../helpers/errors.js';
import { hashBuffer } from '../../src/hashing/hash.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);


describe('tree manifest', () => {
  it('serializes canonically whatever the input order, and parses back', () => {
    const entries: TreeEntry[] = [
      { path: 'b/x', oid: B, size: 2 },
      { path: 'a', oid: A, size: 1, exec: true },
      { path: 'B', oid: A, size: 1 },
    ];
    const text = serializeTree(entries);
    expect(text).toBe(
      `{"path":"B","oid":"${A}","size":1}\n{"path":"a","oid":"${A}","size":1,"exec":true}\n{"path":"b/x","oid":"${B}","size":2}\n`,
    );
    expect(serializeTree([...entries].reverse())).toBe(text);
    expect(parseTree(text, 'blake3', 't')).toEqual([entries[2], entries[1], entries[0]]);
  });

  it('gives a known digest for a known manifest (BLAKE3 and SHA-256)', () => {
    const text = serializeTree([{ path: 'hello.txt', oid: A, size: 5 }]);
    expect(hashBuffer('sha256', '')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hashBuffer('blake3', '')).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    expect(hashBuffer('blake3', text)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects ../ and absolute paths before anything is written', () => {
    for (const p of ['../evil', 'a/../../evil', '/etc/passwd', 'a//b', './a', 'a\\..\\b']) {
      const e = err(() => parseTree(`{"path":${JSON.stringify(p)},"oid":"${A}","size":1}\n`, 'blake3', 'x.tree'));
      expect(e.code, p).toBe('PATH_UNSAFE');
    }
  });

  it('rejects entries that collide after case-folding or Unicode normalisation', () => {
    const text = `{"path":"Data","oid":"${A}","size":1}\n{"path":"data","oid":"${A}","size":1}\n`;
    expect(err(() => parseTree(text, 'blake3', 'x')).code).toBe('PATH_UNSAFE');
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const t2 = serializeTree([{ path: nfc, oid: A, size: 1 }, { path: nfd, oid: A, size: 1 }]);
    expect(err(() => parseTree(t2, 'blake3', 'x')).code).toBe('PATH_UNSAFE');
  });

  it('rejects bad oids, sizes, unknown fields, unsorted and file-as-folder entries', () => {
    expect(err(() => parseTree(`{"path":"a","oid":"${A.slice(1)}","size":1}\n`, 'blake3', 'x')).code).toBe('OID_INVALID');
    expect(err(() => parseTree(`{"path":"a","oid":"${A}.tree","size":1}\n`, 'blake3', 'x')).code).toBe('TREE_INVALID');
    expect(err(() => parseTree(`{"path":"a","oid":"${A}","size":-4}\n`, 'blake3', 'x')).code).toBe('TREE_INVALID');
    expect(err(() => parseTree(`{"path":"a","oid":"${A}","size":1,"mode":7}\n`, 'blake3', 'x')).code).toBe('TREE_INVALID');
    expect(err(() => parseTree(`{"path":"b","oid":"${A}","size":1}\n{"path":"a","oid":"${A}","size":1}\n`, 'blake3', 'x')).code).toBe('TREE_INVALID');
    expect(err(() => parseTree(`{"path":"a","oid":"${A}","size":1}\n{"path":"a/b","oid":"${A}","size":1}\n`, 'blake3', 'x')).code).toBe('TREE_INVALID');
    expect(err(() => parseTree('not json\n', 'blake3', 'x')).line).toBe(1);
  });

  it('reads a line written another way (escapes, spaces, key order, exec false, a size like 1e3) as JSON reads it, or refuses it the same', () => {
    const lines = [
      `{"path":"a\\u0062","oid":"${A}","size":1}`, // an escaped path: "ab"
      `{"path":"c\\"q","oid":"${A}","size":2}`, // a quote inside the path
      `{ "path": "d", "oid": "${A}", "size": 3 }`,
      `{"oid":"${A}","path":"e","size":4}`,
      `{"path":"f","oid":"${A}","size":1e3}`,
      `{"path":"g","oid":"${A}","size":0,"exec":true}`,
      `{"path":"h","oid":"${A}","size":5,"exec":true,"exec":true}`, // JSON keeps the last of a repeated key
    ];
    const text = lines.join('\n') + '\n';
    expect(parseTree(Buffer.from(text), 'blake3', 'x')).toEqual(parseTree(text, 'blake3', 'x'));
    expect(parseTree(Buffer.from(text), 'blake3', 'x')).toEqual([
      { path: 'ab', oid: A, size: 1 }, { path: 'c"q', oid: A, size: 2 }, { path: 'd', oid: A, size: 3 }, { path: 'e', oid: A, size: 4 },
      { path: 'f', oid: A, size: 1000 }, { path: 'g', oid: A, size: 0, exec: true }, { path: 'h', oid: A, size: 5, exec: true },
    ]);
    const refused = (line: string): string => err(() => parseTree(Buffer.from(line + '\n'), 'blake3', 'x')).code;
    expect(refused(`{"path":"a\tb","oid":"${A}","size":1}`)).toBe('TREE_INVALID'); // a raw tab: not JSON
    expect(refused(`{"path":"a","oid":"${A}","size":01}`)).toBe('TREE_INVALID'); // a leading zero: not JSON
    expect(refused(`{"path":"a","oid":"${A}","size":1,"exec":false}`)).toBe('TREE_INVALID');
    expect(refused(`{"path":"a","oid":"${A}","size":99999999999999999}`)).toBe('TREE_INVALID');
    expect(refused(`{"path":"../a","oid":"${A}","size":1}`)).toBe('PATH_UNSAFE');
    expect(refused(`{"path":"a","oid":"${A}","size":1}}`)).toBe('TREE_INVALID');
  });

  it('diffs two manifests', () => {
    const old: TreeEntry[] = [{ path: 'a', oid: A, size: 1 }, { path: 'b', oid: A, size: 1 }, { path: 'c', oid: A, size: 1 }];
    const neu: TreeEntry[] = [{ path: 'a', oid: A, size: 1 }, { path: 'b', oid: B, size: 1 }, { path: 'd', oid: A, size: 1 }];
    const d = diffTrees(old, neu);
    expect(d.added.map((e) => e.path)).toEqual(['d']);
    expect(d.deleted.map((e) => e.path)).toEqual(['c']);
    expect(d.modified.map((m) => m.new.path)).toEqual(['b']);
  });

  it('reads a manifest from bytes exactly as from text: canonical lines without JSON.parse, any other line through it', () => {
    const outcome = (f: () => unknown): unknown => {
      try {
        return { ok: f() };
      } catch (e) {
        const x = e as { code?: string; message?: string };
        return { code: x.code, message: x.message };
      }
    };
    // The bytes against their decoded text, which the JSON path reads.
    const sameBytes = (bytes: Buffer): void => {
      expect(outcome(() => parseTree(bytes, 'blake3', 'm'))).toEqual(outcome(() => parseTree(bytes.toString('utf8'), 'blake3', 'm')));
    };
    const same = (text: string): void => sameBytes(Buffer.from(text));
    const line = (path: string, size: number | string = 1, exec = ''): string => `{"path":${JSON.stringify(path)},"oid":"${A}","size":${size}${exec}}`;
    // Canonical lines (non-ASCII, exec, the largest sizes) and near misses of every part.
    for (const l of [
      line('é/日本/😀.bin'), line('a', 0, ',"exec":true'), line('a', 999_999_999_999_999), line('a', 9_007_199_254_740_991),
      line('a', '9007199254740993'), line('a', '01'), line('a', '-1'), line('a', '1e3'), line('a', '1.0'), line('a', 1, ',"exec":false'),
      line('a"b'), line('a\\b'), line('a\u0001'), line('../x'), line('/abs'), line('a', 1, ' '), `${line('a')} `, `{"path":"a","oid":"${A.toUpperCase()}","size":1}`,
      `{"path":"a","oid":"${A}.tree","size":1}`, `{"path":"a","oid":"${A.slice(1)}","size":1}`, `{"oid":"${A}","path":"a","size":1}`,
      `{"path":"a","oid":"${A}","size":1,"x":1}`, `{"path":"a\tb","oid":"${A}","size":1}`, `{"path":"a`, '{"path":"', '',
    ]) same(`${l}\n`);
    // Canonical manifests with arbitrary paths, and the same bytes with one byte changed or dropped.
    const entry = fc.record({ path: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), size: fc.nat(), exec: fc.boolean() });
    const bytes = [-1, ...Buffer.from('"\\0-,}{ \nex.:'), 0x01, 0x7f, 0x80, 0xc3, 0xe6, 0xff];
    fc.assert(fc.property(fc.array(entry, { maxLength: 6 }), fc.nat(), fc.constantFrom(...bytes), (es, at, b) => {
      const text = Buffer.from(es.map((e) => line(e.path, e.size, e.exec ? ',"exec":true' : '')).join('\n') + '\n');
      sameBytes(text);
      const i = at % text.length;
      sameBytes(b < 0 ? Buffer.concat([text.subarray(0, i), text.subarray(i + 1)]) : Buffer.concat([text.subarray(0, i), Buffer.from([b]), text.subarray(i + 1)]));
    }), { numRuns: 500 });
  });
});
