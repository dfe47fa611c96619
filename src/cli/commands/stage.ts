import { Command } from 'commander';
import { action, withGlobals } from '../context.js';
import { EXIT } from '../exit.js';
import { reportFailure } from './repro.js';
import type { StageStartEvent } from '../../index.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function register(program: Command): void {
  const stage = program.command('stage').description('add and list the stages of the pipeline files (rvc.yaml in any folder)').enablePositionalOptions();

  withGlobals(stage.command('add'), { json: true })
    .description('add a stage to rvc.yaml (the command comes last; options after it belong to the command)')
    .requiredOption('-n, --name <name>', 'stage name')
    .option('-d, --deps <path>', 'a file or folder the command reads (repeatable)', collect)
    .option('-o, --outs <path>', 'an output, stored in the cache (repeatable)', collect)
    .option('-O, --outs-no-cache <path>', 'an output hashed and recorded but not cached (repeatable)', collect)
    .option('--outs-persist <path>', 'an output the command updates in place: not removed before running', collect)
    .option('--outs-persist-no-cache <path>', 'a persistent output that is not cached', collect)
    .option('-m, --metrics <path>', 'a metrics file (JSON or YAML), cached (repeatable)', collect)
    .option('-M, --metrics-no-cache <path>', 'a metrics file kept in git instead of the cache (repeatable)', collect)
    .option('-p, --params <spec>', 'params the command reads: `lr,epochs` (params.yaml), `file.yaml:lr`, `file.json:` for all keys (repeatable)', collect)
    .option('-e, --env <NAME[=default]>', 'an environment variable the command depends on (repeatable)', collect)
    .option('-w, --wdir <dir>', 'directory the command runs in; other paths are relative to it')
    .option('--desc <text>', 'a description of the stage')
    .option('--always-changed', 'always consider the stage stale')
    .option('-f, --force', 'replace a stage of the same name')
    .option('--run', 'then run the stage (not its upstream stages) and record it in rvc.lock')
    .argument('<command...>', 'the command, run with `sh -c` (quote it to keep shell operators out of your shell)')
    .passThroughOptions()
    .action(action(async ({ lib, out, flags, common }, command: string[]) => {
      const list = (k: string) => (flags[k] as string[] | undefined) ?? [];
      // With --run, Ctrl-C stops the command (as in repro) instead of leaving it running.
      const stop = new AbortController();
      const onSignal = (sig: NodeJS.Signals) => stop.abort(sig);
      if (flags.run) {
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      }
      const r = await lib.stageAdd({
        ...common,
        name: String(flags.name),
        cmd: command.join(' '),
        deps: list('deps'), outs: list('outs'), outsNoCache: list('outsNoCache'),
        outsPersist: list('outsPersist'), outsPersistNoCache: list('outsPersistNoCache'),
        metrics: list('metrics'), metricsNoCache: list('metricsNoCache'),
        params: list('params'), env: list('env'),
        ...(flags.wdir ? { wdir: String(flags.wdir) } : {}),
        ...(flags.desc ? { desc: String(flags.desc) } : {}),
        alwaysChanged: !!flags.alwaysChanged,
        force: !!flags.force,
        ...(flags.run ? {
          run: {
            signal: stop.signal,
            onStageStart: (e: StageStartEvent) => out.info(`Running stage '${e.stage}':`),
            onCommand: (_stage: string, cmd: string) => out.info(`> ${cmd}`),
            onStageOutput: (_stage: string, chunk: Buffer, stream: 'stdout' | 'stderr') => {
              if (stream === 'stdout' && flags.quiet) return;
              (flags.json || stream === 'stderr' ? process.stderr : process.stdout).write(chunk);
            },
          },
        } : {}),
      }).finally(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      });
      if (flags.json) out.json(r);
      else out.info(`${r.replaced ? 'Replaced' : 'Added'} stage '${r.name}' in ${r.file}`);
      const ran = r.run?.stages[0];
      if (r.run?.interrupted) {
        out.error('interrupted: the command was stopped', `run \`rvc repro ${r.name}\` to run it again`);
        return EXIT.INTERRUPTED;
      }
      if (ran?.status === 'failed') {
        if (!flags.json) reportFailure(out, ran);
        return EXIT.FAILURE;
      }
      if (flags.json) return;
      if (ran?.status === 'restored') out.info(`Stage '${r.name}' is cached — restored outputs`);
      const toGit = [...new Set([...r.toGit, ...(r.run?.toGit ?? [])])];
      if (!toGit.length) return r.run ? undefined : out.info('Run it with `rvc repro`.');
      out.info('');
      if (r.run) {
        out.info('To track the changes with git, run:');
        out.info(`    git add ${toGit.join(' ')}`);
        return;
      }
      out.info('Run it with `rvc repro`; to track the pipeline with git, run:');
      out.info(`    git add ${r.toGit.join(' ')}`);
    }));

  withGlobals(stage.command('list'), { json: true })
    .description('list the stages of the pipeline files in this folder and below, with what they read and write')
    .option('-P, --all-pipelines', 'the stages of every pipeline file of the project')
    .action(action(async ({ lib, out, flags, common }) => {
      const stages = await lib.stageList({ ...common, allPipelines: !!flags.allPipelines });
      if (flags.json) return out.json({ stages });
      if (stages.length === 0) return out.info('No stages yet. Add one with `rvc stage add -n <name> -d <dep> -o <out> <command>`.');
      let width = 0;
      for (const s of stages) width = Math.min(40, Math.max(width, s.name.length)); // not Math.max(...): stages can be generated by the thousand
      for (const s of stages) {
        const written = [...s.outs, ...s.metrics, ...s.plots];
        const what = s.desc ?? (written.length ? `Outputs ${written.join(', ')}` : s.cmd.join(' && '));
        const flagsText = [s.frozen ? 'frozen' : '', s.alwaysChanged ? 'always changed' : ''].filter(Boolean).join(', ');
        out.info(`${s.name.padEnd(width)}  ${what}${flagsText ? ` (${flagsText})` : ''}`);
        if (flags.verbose) {
          out.info(`${' '.repeat(width)}    cmd:  ${s.cmd.join(' && ')}`);
          if (s.deps.length) out.info(`${' '.repeat(width)}    deps: ${s.deps.join(', ')}`);
          if (s.params.length) out.info(`${' '.repeat(width)}    params: ${s.params.map((p) => (p.keys ? `${p.file}:${p.keys.join(',')}` : `${p.file} (all)`)).join(', ')}`);
          if (s.env.length) out.info(`${' '.repeat(width)}    env:  ${s.env.join(', ')}`);
        }
      }
    }));
}
