import { EXIT } from '../exit.js';
import { plural } from '../output.js';
import { fmtValue } from './repro.js';
import type { VerifyStageResult } from '../../index.js';
import type { Ctx } from '../context.js';

const VERDICT: Record<VerifyStageResult['verdict'], string> = {
  'bit-exact': 'bit-exact',
  'within-tolerance': 'within tolerance',
  'not-reproduced': 'NOT reproduced',
  error: 'could not be verified',
};

export async function runVerify({ lib, out, flags, common }: Ctx, targets: string[]) {
  // Ctrl-C (or SIGTERM) stops the running commands and removes the copies; a second one kills them at once.
  const stop = new AbortController();
  const kill = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) kill.abort();
    else stop.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const r = await lib.verify({
    ...common, signal: stop.signal, killSignal: kill.signal, ...(targets.length ? { targets } : {}),
    ...(flags.runs ? { runs: flags.runs as number } : {}), ...(flags.rev ? { rev: flags.rev as string } : {}),
    ...(flags.tolerance ? { tolerance: flags.tolerance as string[] } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}),
    ...(flags.pull ? { pull: true } : {}), ...(flags.remote !== undefined ? { remote: String(flags.remote) } : {}),
    onStageStart: (s) => out.detail(`verifying ${s}…`),
  }).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  if (flags.json) {
    out.json(r);
    return r.reproduced ? EXIT.OK : EXIT.FAILURE;
  }
  for (const s of r.stages) {
    const line = `${s.stage}: ${VERDICT[s.verdict]}`;
    if (s.verdict === 'error') {
      out.error(`${line}: ${s.error?.message ?? ''}`, s.error?.hint);
      continue;
    }
    out.info(line);
    for (const d of s.differences) {
      if (d.metrics) {
        for (const m of d.metrics) out.info(`  ${d.path}: ${m.key} ${fmtValue(m.recorded)} recorded, ${fmtValue(m.now)} now`);
        if (d.metrics.length === 0) out.info(`  ${d.path}: metrics within tolerance`);
      } else {
        out.info(`  ${d.path}: differs (recorded ${d.recorded?.slice(0, 12) ?? 'nothing'}, rerun ${d.runs.map((o) => o?.slice(0, 12) ?? 'nothing').join(', ')})`);
      }
    }
    if (s.undeclaredWrites?.length) {
      out.warn(`${s.stage} wrote files it does not declare as outputs: ${s.undeclaredWrites.join(', ')}; the rerun cannot check them (declare them under outs: or metrics:)`);
    }
    if (s.diagnosis?.kind === 'nondeterministic') {
      out.info(`  diagnosis: nondeterministic: runs in the same environment differ in ${s.diagnosis.outputs.join(', ')} (an unset random seed, thread races, timestamps?)`);
    } else if (s.diagnosis?.kind === 'environment-drift') {
      out.info('  diagnosis: the environment changed since the recorded run:');
      for (const c of s.diagnosis.changes) out.info(`    ${c.key}: ${fmtValue(c.from)} → ${fmtValue(c.to)}`);
    }
  }
  const bad = r.stages.filter((s) => s.verdict === 'not-reproduced' || s.verdict === 'error').length;
  out.info(bad ? `${bad} of ${plural(r.stages.length, 'stage')} did not reproduce ${r.rev}.` : `${r.stages.length === 1 ? 'The stage reproduces' : `All ${r.stages.length} stages reproduce`} ${r.rev}.`);
  return r.reproduced ? EXIT.OK : EXIT.FAILURE;
}
