import { describe, it, expect } from 'vitest';
import { compareFiles } from '../../src/verbs/diff.js';

const f = (oid: string, size = 3, exec = false) => ({ oid, size, exec });
const map = (o: Record<string, ReturnType<typeof f>>) => new Map(Object.entries(o));

describe('compareFiles', () => {
  it('pairs renames of one content in path order, leaves the rest added or deleted', () => {
    const a = map({ 'x/1': f('aa'), 'x/2': f('aa'), 'x/3': f('aa'), 'k': f('bb') });
    const b = map({ 'y/2': f('aa'), 'y/1': f('aa'), 'k': f('cc', 4) });
    expect(compareFiles(a, b)).toEqual({
      added: [],
      modified: [{ path: 'k', old_size: 3, new_size: 4, old_oid: 'bb', new_oid: 'cc' }],
      deleted: [{ path: 'x/3', size: 3 }],
      renamed: [{ from: 'x/1', to: 'y/1', size: 3 }, { from: 'x/2', to: 'y/2', size: 3 }],
    });
  });

  it('never pairs empty files, and counts an executable-bit change as modified', () => {
    const a = map({ 'e1': f('empty', 0), 's': f('ss') });
    const b = map({ 'e2': f('empty', 0), 's': f('ss', 3, true) });
    expect(compareFiles(a, b)).toEqual({
      added: [{ path: 'e2', size: 0 }],
      modified: [{ path: 's', old_size: 3, new_size: 3, old_oid: 'ss', new_oid: 'ss' }],
      deleted: [{ path: 'e1', size: 0 }],
      renamed: [],
    });
  });
});
