import { describe, it, expect } from 'vitest';
import { parsePointer, serializePointer } from '../../src/model/pointer.js';
import { RvcError } from '../../src/errors.js';
import { codeOf, rvcError } from '../helpers/errors.js';

const OID = 'a'.repeat(64);


describe('pointer format', () => {
  it('round-trips a file and a folder pointer canonically', () => {
    const p = { outs: [{ path: 'data', hash: 'blake3' as const, oid: `${OID}.tree`, size: 10, nfiles: 2 }] };
    const text = serializePointer(p);
    expect(text).toBe(`outs:\n  - path: data\n    hash: blake3\n    oid: ${OID}.tree\n    size: 10\n    nfiles: 2\n`);
    expect(parsePointer(text, 'data.rvc')).toEqual(p);
    const f = { outs: [{ path: 'model.bin', hash: 'sha256' as const, oid: OID, size: 3, exec: true }], desc: 'weights' };
    expect(parsePointer(serializePointer(f), 'model.bin.rvc')).toEqual(f);
  });

  it('rejects malformed YAML with the file and line', () => {
    try {
      parsePointer('outs:\n  - path: [unclosed\n', 'x.rvc');
      expect.fail('should throw');
    } catch (e) {
      expect((e as RvcError).code).toBe('POINTER_INVALID');
      expect((e as RvcError).path).toBe('x.rvc');
      expect((e as RvcError).message).toContain('x.rvc');
    }
  });

  it('rejects unknown fields at both levels', () => {
    expect(codeOf(() => parsePointer(`outs:\n- path: a\n  hash: blake3\n  oid: ${OID}\n  size: 1\nextra: 1\n`, 'a.rvc'))).toBe('POINTER_INVALID');
    const e = (() => {
      try {
        parsePointer(`outs:\n- path: a\n  hash: blake3\n  oid: ${OID}\n  size: 1\n  colour: red\n`, 'a.rvc');
      } catch (err) {
        return err as RvcError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('POINTER_INVALID');
    expect(e?.line).toBe(6);
  });

  it('rejects paths that escape the folder or are absolute', () => {
    for (const bad of ['../etc', '/etc/passwd', 'a/../../b', 'C:/x', 'a\\b', '']) {
      const text = `outs:\n- path: ${JSON.stringify(bad)}\n  hash: blake3\n  oid: ${OID}\n  size: 1\n`;
      expect(codeOf(() => parsePointer(text, 'p.rvc')), bad).toBe('PATH_UNSAFE');
    }
  });

  it('rejects wrong oid length, non-hex oids and unknown algorithms', () => {
    expect(codeOf(() => parsePointer(`outs:\n- path: a\n  hash: blake3\n  oid: ${'a'.repeat(63)}\n  size: 1\n`, 'p.rvc'))).toBe('OID_INVALID');
    expect(codeOf(() => parsePointer(`outs:\n- path: a\n  hash: blake3\n  oid: ${'g'.repeat(64)}\n  size: 1\n`, 'p.rvc'))).toBe('OID_INVALID');
    expect(codeOf(() => parsePointer(`outs:\n- path: a\n  hash: md5\n  oid: ${OID}\n  size: 1\n`, 'p.rvc'))).toBe('POINTER_INVALID');
  });

  it('rejects wrong types, negative sizes, nfiles on files, empty outs and duplicates', () => {
    expect(codeOf(() => parsePointer(`outs:\n- path: a\n  hash: blake3\n  oid: ${OID}\n  size: -1\n`, 'p.rvc'))).toBe('POINTER_INVALID');
    expect(codeOf(() => parsePointer(`outs:\n- path: a\n  hash: blake3\n  oid: ${OID}\n  size: 1\n  nfiles: 3\n`, 'p.rvc'))).toBe('POINTER_INVALID');
    expect(codeOf(() => parsePointer('outs: []\n', 'p.rvc'))).toBe('POINTER_INVALID');
    expect(codeOf(() => parsePointer('just a string\n', 'p.rvc'))).toBe('POINTER_INVALID');
    const one = `- path: a\n  hash: blake3\n  oid: ${OID}\n  size: 1\n`;
    expect(codeOf(() => parsePointer(`outs:\n${one}${one}`, 'p.rvc'))).toBe('POINTER_INVALID');
  });

  it('refuses alias bombs instead of expanding them', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 12; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    text += 'outs: *a11\n';
    const t0 = Date.now();
    expect(codeOf(() => parsePointer(text, 'bomb.rvc'))).toBe('POINTER_INVALID');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('import pointers', () => {
  const LOCK = 'c'.repeat(40);
  const head = (imp: string): string => `import:\n${imp}outs:\n- path: data\n  hash: blake3\n  oid: ${OID}\n  size: 1\n`;

  it('round-trip with the source, the path, the rev and the resolved commit', () => {
    const p = { outs: [{ path: 'data', hash: 'blake3' as const, oid: OID, size: 1 }], import: { repo: '../first', path: 'data/sub', rev: 'v1', rev_lock: LOCK } };
    const text = serializePointer(p);
    expect(text).toBe(`import:\n  repo: ../first\n  path: data/sub\n  rev: v1\n  rev_lock: ${LOCK}\nouts:\n  - path: data\n    hash: blake3\n    oid: ${OID}\n    size: 1\n`);
    expect(parsePointer(text, 'data.rvc')).toEqual(p);
    const noRev = { ...p, import: { repo: 'https://example.com/r.git', path: 'data', rev_lock: 'd'.repeat(64) } };
    expect(parsePointer(serializePointer(noRev), 'data.rvc')).toEqual(noRev);
  });

  it('are as strict as the rest: unknown fields, unsafe paths, bad commits, several outs', () => {
    expect(codeOf(() => parsePointer(head(`  repo: r\n  path: d\n  rev_lock: ${LOCK}\n  branch: x\n`), 'p.rvc'))).toBe('POINTER_INVALID');
    expect(codeOf(() => parsePointer(head(`  repo: r\n  path: ../d\n  rev_lock: ${LOCK}\n`), 'p.rvc'))).toBe('PATH_UNSAFE');
    expect(codeOf(() => parsePointer(head(`  repo: r\n  path: /etc\n  rev_lock: ${LOCK}\n`), 'p.rvc'))).toBe('PATH_UNSAFE');
    expect(codeOf(() => parsePointer(head(`  repo: r\n  path: d\n  rev_lock: abc\n`), 'p.rvc'))).toBe('POINTER_INVALID');
    expect(codeOf(() => parsePointer(head(`  repo: r\n  path: d\n  rev: --upload-pack=x\n  rev_lock: ${LOCK}\n`), 'p.rvc'))).toBe('POINTER_INVALID');
    expect(codeOf(() => parsePointer(head(`  repo: --upload-pack=x\n  path: d\n  rev_lock: ${LOCK}\n`), 'p.rvc'))).toBe('POINTER_INVALID');
    expect(codeOf(() => parsePointer(head(`  path: d\n  rev_lock: ${LOCK}\n`), 'p.rvc'))).toBe('POINTER_INVALID');
    const two = `import:\n  repo: r\n  path: d\n  rev_lock: ${LOCK}\nouts:\n- path: a\n  hash: blake3\n  oid: ${OID}\n  size: 1\n- path: b\n  hash: blake3\n  oid: ${OID}\n  size: 1\n`;
    expect(codeOf(() => parsePointer(two, 'p.rvc'))).toBe('POINTER_INVALID');
  });

  it('refuse credentials in the source URL without repeating them', () => {
    for (const repo of ['https://user:pw-secret@host/r.git', 'https://tok-secret@host/r.git', 'ssh://u:pw-secret@host/r', 'u:pw-secret@host:r.git', 'file://u@/tmp/r', 'https://host/r.git?token=tok-secret']) {
      const e = rvcError(() => parsePointer(head(`  repo: ${JSON.stringify(repo)}\n  path: d\n  rev_lock: ${LOCK}\n`), 'p.rvc'));
      expect(e.code, repo).toBe('POINTER_INVALID');
      expect(e.message).not.toContain('secret');
    }
    for (const repo of ['git@github.com:org/r.git', 'ssh://git@host/r', '../first', '/abs/repo', 'file:///tmp/r', 'https://host/r.git']) {
      expect(parsePointer(head(`  repo: ${JSON.stringify(repo)}\n  path: d\n  rev_lock: ${LOCK}\n`), 'p.rvc').import?.repo, repo).toBe(repo);
    }
  });
});
