import { Command, InvalidArgumentError } from 'commander';
import { action, parseJobs, withGlobals } from '../context.js';
import { EXIT } from '../exit.js';
import { plural } from '../output.js';
import { fmtValue } from './repro.js';
import type { VerifyStageResult } from '../../index.js';

function parseRuns(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`a whole number of at least 1 is needed, not '${v}'`);
  return n;
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

const VERDICT: Record<VerifyStageResult['verdict'], string> = {
  'bit-exact': 'bit-exact',
  'within-tolerance': 'within tolerance',
  'not-reproduced': 'NOT reproduced',
  error: 'could not be verified',
};

export function register(program: Command): void {
  withGlobals(program.command('verify'), { json: true })
    .description('rerun stages in an isolated copy of a commit and check their outputs match rvc.lock')
    .argument('[targets...]', 'stages, pipeline files or outputs (default: every stage rvc.lock records)')
    .option('--runs <n>', 'run each stage n times; runs that differ from each other show the stage is nondeterministic', parseRuns)
    .option('--rev <rev>', 'verify the record of this commit (default HEAD)')
    .option('--tolerance <metric=value>', 'allow a metric to differ by an absolute value (acc=0.001) or a relative one (loss=1%); repeatable', collect)
    .option('--pull', 'first download the dependencies the cache lacks from the remote')
    .option('-r, --remote <name>', 'with --pull: the remote to download from (default: the default remote)')
    .option('-j, --jobs <n>', 'verify up to n stages at once, each in its own copy', parseJobs)
    .action(action(async ({ lib, out, flags, common }, targets: string[]) => {
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
    }));
}
