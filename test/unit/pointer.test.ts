import { describe, it, expect } from 'vitest';
import { parsePointer, serializePointer } from '../../src/model/pointer.js';
import { RvcError } from '../../src/errors.js';
import { codeOf } from '../helpers/errors.js';

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
