import type { LineageResult, UsesResult } from '../../index.js';
import { scopeFrom } from '../scope.js';
import type { Ctx } from '../context.js';

const short = (oid: string): string => oid.slice(0, 12);

function renderForward(r: LineageResult): string {
  const lines = [`${r.output} at ${r.rev} (${r.commit.slice(0, 8)}): ${short(r.oid)}, ${r.source === 'pointer' ? 'tracked by a .rvc file' : 'a stage output'}${r.firstCommit ? `, first recorded in ${r.firstCommit.slice(0, 8)}` : ''}`];
  if (!r.stages.length) lines.push('No stage made it: it was added as data.');
  for (const s of r.stages) {
    lines.push('', `stage ${s.stage} (${s.lockFile})`);
    for (const c of s.cmd) lines.push(`  cmd: ${c}`);
    if (s.recorded) lines.push(`  recorded: ${s.recorded.commit.slice(0, 8)} by ${s.recorded.author} <${s.recorded.email}> on ${s.recorded.date}: ${s.recorded.subject}`);
    for (const i of s.inputs) {
      if (i.kind === 'code') lines.push(`  code: ${i.path} (git ${short(i.blob!)})`);
      else if (i.kind === 'data') lines.push(`  data: ${i.path} ${short(i.oid)}${i.producer ? ` from stage ${i.producer}` : ''}${i.firstCommit ? `, first in ${i.firstCommit.slice(0, 8)}` : ''}`);
      else lines.push(`  untracked: ${i.path} ${short(i.oid)}`);
    }
    for (const [f, vals] of Object.entries(s.params)) for (const [k, v] of Object.entries(vals)) lines.push(`  param: ${f}:${k} = ${JSON.stringify(v)}`);
    for (const [n, v] of Object.entries(s.env)) lines.push(`  env: ${n}=${v ?? '(unset)'}`);
    if (s.environment) lines.push(`  environment: ${JSON.stringify(s.environment)}`);
    for (const o of s.outs) lines.push(`  out: ${o.path} ${short(o.oid)}`);
  }
  return `${lines.join('\n')}\n`;
}

function renderUses(r: UsesResult): string {
  if (!r.used.length) return `No stage in the ${r.commits} commit(s) looked at was built from ${r.path} ${short(r.oid)}.\n`;
  const lines = [`${r.used.length} of ${r.commits} commit(s) built from ${r.path} ${short(r.oid)}:`];
  for (const u of r.used) lines.push(`${u.commit.slice(0, 8)}${u.experiment !== undefined ? ` (experiment ${u.experiment})` : ''} ${u.date} ${u.author}: ${u.subject}`, `  stages: ${u.stages.join(', ')}`, `  outputs: ${u.outputs.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export async function runLineage({ lib, out, flags, common }: Ctx, output: string | undefined) {
  const revs = flags.rev as string[] | undefined;
  if (flags.uses !== undefined) {
    if (output !== undefined) throw new lib.RvcError('USAGE', 'give either an output or --uses, not both', { hint: 'rvc lineage <output> [--rev R] | rvc lineage --uses <data> --all-commits' });
    const r = await lib.lineageUses({ ...common, uses: String(flags.uses), ...(flags.oid ? { oid: String(flags.oid) } : {}), scope: scopeFrom(flags) });
    if (flags.json) return out.json(r);
    if (!flags.quiet) process.stdout.write(renderUses(r));
    return;
  }
  if (output === undefined) throw new lib.RvcError('USAGE', 'name an output, or --uses <data>', { hint: 'rvc lineage <output> [--rev R] | rvc lineage --uses <data> --all-commits' });
  if (flags.allBranches || flags.allTags || flags.allCommits || (revs?.length ?? 0) > 1 || flags.oid) {
    throw new lib.RvcError('USAGE', '-a, -T, -A, --oid and several --rev go with --uses; the lineage of an output is read at one revision', { hint: `rvc lineage ${output} --rev <rev>` });
  }
  const r = await lib.lineage({
    ...common, output, ...(revs?.length ? { rev: revs[0]! } : {}),
    ...(flags.dot ? { format: 'dot' as const } : flags.mermaid ? { format: 'mermaid' as const } : {}),
  });
  if (r.text !== undefined) return void process.stdout.write(r.text);
  if (flags.json) return out.json({ ...r, text: undefined });
  if (!flags.quiet) process.stdout.write(renderForward(r));
}
