import fs from 'node:fs';
import path from 'node:path';
import { type Ctx } from '../context.js';
import { EXIT } from '../exit.js';
import type { InstallResult, RvcCommand } from '../../index.js';

/** The node binary and CLI script running now, so hooks find this rvc without relying on PATH. */
export function currentRvc(): RvcCommand | undefined {
  const script = process.argv[1];
  if (!script) return undefined;
  try {
    return { node: process.execPath, script: fs.realpathSync(script) };
  } catch {
    return undefined;
  }
}

function render(r: InstallResult, uninstall: boolean, info: (s: string) => void): void {
  const rel = (p: string): string => path.relative(process.cwd(), p) || '.';
  const by = (a: string): string[] => r.hooks.filter((h) => h.action === a).map((h) => h.name);
  if (uninstall) {
    const removed = by('removed');
    if (removed.length) info(`Removed git hooks from ${rel(r.hooksDir)}: ${removed.join(', ')}`);
    const foreign = by('foreign');
    if (foreign.length) info(`Left alone (not written by rvc): ${foreign.join(', ')}`);
    if (r.mergeDriver === 'removed') info('Removed the merge driver (merge.rvc) from the git config');
    if (r.gitattributes.lines.length) info(`Removed from ${rel(r.gitattributes.file)}: ${r.gitattributes.lines.join(', ')}`);
    if (!removed.length && r.mergeDriver !== 'removed' && !r.gitattributes.lines.length) info('Nothing of rvc was installed.');
    return;
  }
  const written = r.hooks.filter((h) => h.action === 'installed' || h.action === 'updated').map((h) => h.name);
  if (written.length) info(`Installed git hooks in ${rel(r.hooksDir)}: ${written.join(', ')}`);
  if (r.mergeDriver === 'installed' || r.mergeDriver === 'updated') info('Configured the merge driver for .rvc and rvc.lock files (merge.rvc in the git config)');
  if (r.gitattributes.lines.length) {
    info(`Added to ${rel(r.gitattributes.file)}: ${r.gitattributes.lines.join(', ')}`);
    info('Commit .gitattributes so merges in every clone use the driver (each clone runs `rvc install` once).');
  }
  if (!written.length && r.mergeDriver === 'unchanged' && !r.gitattributes.lines.length) info('The rvc git hooks and merge driver are already installed.');
}

export async function runInstall({ lib, out, flags, common }: Ctx) {
  const r = flags.uninstall
    ? await lib.uninstall(common)
    : await lib.install({ ...common, ...(currentRvc() ? { rvc: currentRvc()! } : {}) });
  if (flags.json) out.json(r);
  else render(r, !!flags.uninstall, (s) => out.info(s));
  return EXIT.OK;
}
