import fs from 'node:fs';

/** Whether `abs` is a directory (following symlinks); false when it does not exist or cannot be read. */
export function isDir(abs: string): boolean {
  try {
    return fs.statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `abs` is a regular file (following symlinks); false when it does not exist or cannot be read. */
export function isFile(abs: string): boolean {
  try {
    return fs.statSync(abs).isFile();
  } catch {
    return false;
  }
}
