import { fmtBytes, plural } from '../output.js';
import { table } from './params.js';
import type { Ctx } from '../context.js';

export async function runDiff({ lib, out, flags, common }: Ctx, args: string[]) {
  const r = await lib.diff({
    ...common, args,
    ...(Array.isArray(flags.targets) ? { targets: flags.targets as string[] } : {}),
    ...(flags.remote ? { remote: String(flags.remote) } : {}),
  });
  if (flags.json) return out.json({ added: r.added, modified: r.modified, deleted: r.deleted, renamed: r.renamed });
  const n = r.added.length + r.modified.length + r.deleted.length + r.renamed.length;
  if (n === 0) return out.info(`No changes in tracked data between ${r.a} and ${r.b}.`);
  const rows: string[][] = [];
  const group = (title: string, lines: string[][]): void => {
    if (!lines.length) return;
    rows.push([`${title}:`, '', '']);
    for (const l of lines) rows.push(l);
  };
  group('Added', r.added.map((f) => [`  ${f.path}`, fmtBytes(f.size), '']));
  group('Modified', r.modified.map((f) => [`  ${f.path}`, fmtBytes(f.old_size), `-> ${fmtBytes(f.new_size)}`]));
  group('Deleted', r.deleted.map((f) => [`  ${f.path}`, fmtBytes(f.size), '']));
  group('Renamed', r.renamed.map((f) => [`  ${f.from} -> ${f.to}`, fmtBytes(f.size), '']));
  if (!flags.quiet) process.stdout.write(table(rows));
  out.info(`\n${r.a} → ${r.b}: ${plural(r.added.length, 'file')} added, ${r.modified.length} modified, ${r.deleted.length} deleted, ${r.renamed.length} renamed`);
}
