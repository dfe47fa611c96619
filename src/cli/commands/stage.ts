import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function register(program: Command): void {
  const stage = program.command('stage').description('add and list the stages of rvc.yaml').enablePositionalOptions();

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
    .argument('<command...>', 'the command, run with `sh -c` (quote it to keep shell operators out of your shell)')
    .passThroughOptions()
    .action(action(async ({ lib, out, flags, common }, command: string[]) => {
      const list = (k: string) => (flags[k] as string[] | undefined) ?? [];
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
      });
      if (flags.json) return out.json(r);
      out.info(`${r.replaced ? 'Replaced' : 'Added'} stage '${r.name}' in ${r.file}`);
      out.info('');
      out.info('Run it with `rvc repro`; to track the pipeline with git, run:');
      out.info(`    git add ${r.file}`);
    }));

  withGlobals(stage.command('list'), { json: true })
    .description('list the stages of rvc.yaml with what they read and write')
    .action(action(async ({ lib, out, flags, common }) => {
      const stages = await lib.stageList(common);
      if (flags.json) return out.json({ stages });
      if (stages.length === 0) return out.info('No stages yet. Add one with `rvc stage add -n <name> -d <dep> -o <out> <command>`.');
      const width = Math.min(40, Math.max(...stages.map((s) => s.name.length)));
      for (const s of stages) {
        const what = s.desc ?? (s.outs.length || s.metrics.length ? `Outputs ${[...s.outs, ...s.metrics].join(', ')}` : s.cmd.join(' && '));
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
