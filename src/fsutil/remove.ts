import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, fromFsError } from '../errors.js';

/**
 * Deletes a file or folder tree (nothing when it is absent). Read-only folders — cache links
 * placed inside a folder output — are made writable and the removal tried again.
 */
export function removeTree(abs: string, rel: string): void {
  try {
    fs.rmSync(abs, { recursive: true, force: true });
  } catch (e) {
    if (errnoCode(e) !== 'EACCES' && errnoCode(e) !== 'EPERM') throw fromFsError(e, rel, 'remove');
    chmodTree(abs);
    fs.rmSync(abs, { recursive: true, force: true });
  }
}

function chmodTree(abs: string): void {
  try {
    const st = fs.lstatSync(abs);
    if (!st.isDirectory()) return;
    fs.chmodSync(abs, 0o755);
    for (const n of fs.readdirSync(abs)) chmodTree(path.join(abs, n));
  } catch {
    // best effort
  }
}
