#!/usr/bin/env node
/*
 * Registering a command (start-up is paid by every run, so a command loads only what it runs):
 *   - `commands/<name>.ts` exports `register(program)`: the command's options, arguments and
 *     help, eagerly (so `--help` and commander's usage errors stay as they are), ending in
 *     `.action(lazyAction(() => import(…), 'run<Name>'))` naming `../actions/<name>.js` (as
 *     `commands/status.ts` does). It imports only commander and the small CLI modules (context,
 *     scope, exit), never the library or an actions module, and types with `import type` only.
 *   - `actions/<name>.ts` exports `run<Name>(ctx, ...args)`: calls the library through
 *     `ctx.lib`, renders, and returns the exit code (from `exit.ts`); loaded when the command runs.
 *   - add `import * as <name> from './commands/<name>.js'` below and the module to COMMANDS.
 *     `test/e2e/cli-startup.test.ts` checks that `--help` loads no library code.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { currentOutput } from './context.js';
import { EXIT, exitCodeFor } from './exit.js';
import { Output } from './output.js';
import * as init from './commands/init.js';
import * as add from './commands/add.js';
import * as status from './commands/status.js';
import * as commit from './commands/commit.js';
import * as checkout from './commands/checkout.js';
import * as gc from './commands/gc.js';
import * as fsck from './commands/fsck.js';
import * as remove from './commands/remove.js';
import * as move from './commands/move.js';
import * as unprotect from './commands/unprotect.js';
import * as config from './commands/config.js';
import * as version from './commands/version.js';
import * as remote from './commands/remote.js';
import * as sync from './commands/sync.js';
import * as stage from './commands/stage.js';
import * as repro from './commands/repro.js';
import * as dag from './commands/dag.js';
import * as freeze from './commands/freeze.js';
import * as params from './commands/params.js';
import * as report from './commands/report.js';
import * as metrics from './commands/metrics.js';
import * as verify from './commands/verify.js';
import * as get from './commands/get.js';
import * as diff from './commands/diff.js';
import * as install from './commands/install.js';
import * as mergeDriver from './commands/merge-driver.js';
import * as gitHook from './commands/git-hook.js';
import * as ls from './commands/ls.js';
import * as importCmd from './commands/import.js';
import * as update from './commands/update.js';
import * as lineage from './commands/lineage.js';
import * as exp from './commands/exp.js';
import * as plots from './commands/plots.js';
import * as queue from './commands/queue.js';

/** The commands in the order `rvc --help` lists them; one a line, so additions merge cleanly. */
const COMMANDS: { register(program: Command): void }[] = [
  init,
  add,
  status,
  commit,
  checkout,
  remote,
  sync,
  gc,
  fsck,
  remove,
  move,
  unprotect,
  config,
  version,
  stage,
  repro,
  dag,
  freeze,
  params,
  metrics,
  verify,
  report,
  // Experiments and plots.
  exp,
  queue,
  plots,
  // Data across git history.
  diff,
  get,
  ls,
  importCmd,
  update,
  lineage,
  // Git integration.
  install,
  mergeDriver,
  gitHook,
];

const require = createRequire(import.meta.url);
const pkg = require('../../package.json') as { version: string };

function buildProgram(): Command {
  const program = new Command('rvc')
    .description('Version data and models next to git: a content-addressed cache, pointer files, remotes and pipelines.')
    .version(pkg.version, '-V, --version', 'print the rvc version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const m of COMMANDS) m.register(program);
  program.on('command:*', (operands: string[]) => unknownCommand(program, operands[0] ?? ''));
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  program.addHelpText('after', `
Quick start:
  git init && rvc init
  rvc add data/            # hash and cache data/, write data.rvc
  git add data.rvc .gitignore && git commit -m "data v1"
  # …edit data/, then: rvc add data/ && git commit -am "data v2"
  git checkout HEAD~1 && rvc checkout   # the data of v1 is back

Exit codes: 0 ok, 1 failure, 2 usage error, 3 repository locked, 130 interrupted;
\`rvc status -q\` exits 1 when anything is modified, missing or stale.`);
  return program;
}

/**
 * DVC commands rvc does not have yet, with what they are about. An unknown command that is one
 * of these gets a plain answer instead of a guess at a similar name; drop a row when the command
 * arrives.
 */
const NOT_YET: Record<string, string> = {
  artifacts: 'a model registry',
  cache: 'cache migration commands',
  'check-ignore': 'explaining .rvcignore matches',
  data: 'data status',
  destroy: 'removing rvc from a project',
  doctor: 'a diagnostics report',
  'get-url': 'downloads from a URL',
  'import-url': 'imports from a URL',
  root: 'printing the project root',
  studio: 'a hosted service',
};

/**
 * An unknown command: a DVC command rvc lacks is named as such; anything else is refused with a
 * suggestion only when a command is one or two typos away (`stauts`), never an unrelated one.
 */
function unknownCommand(program: Command, name: string): never {
  const out = new Output({});
  if (Object.hasOwn(NOT_YET, name)) {
    out.error(`rvc does not have \`${name}\` (${NOT_YET[name]}) yet`, '`rvc --help` lists the commands rvc has');
  } else {
    const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
    const near = names.filter((n) => n.length > 1 && editDistance(name, n) <= Math.max(1, Math.floor(name.length / 3)));
    out.error(`unknown command '${name}'`, near.length ? `did you mean ${near.map((n) => `\`rvc ${n}\``).join(' or ')}? (\`rvc --help\` lists the commands)` : '`rvc --help` lists the commands');
  }
  throw new CommanderError(EXIT.USAGE, 'commander.unknownCommand', `unknown command '${name}'`);
}

/** Edits (insert, delete, substitute, swap two neighbours) between two words. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

async function main(): Promise<void> {
  // `rvc status | head`: when the reader goes away, stop quietly like other Unix tools.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT.OK);
      throw e;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    process.exitCode = handleError(e);
  }
}

function handleError(e: unknown): number {
  if (e instanceof CommanderError) {
    // `rvc --help`, `rvc help` and `--version` succeed; a bare `rvc` (help shown because no
    // command was named) is a usage error, as commander's exit code says.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    return EXIT.USAGE;
  }
  const out = currentOutput() ?? new Output({});
  const err = e as { name?: string; code?: string; message?: string; hint?: string; toJSON?: () => unknown };
  if (err && err.name === 'RvcError') {
    if (out.flags.json) process.stdout.write(JSON.stringify({ error: err.toJSON?.() }, null, 2) + '\n');
    out.error(err.message ?? 'failed', err.hint);
    return exitCodeFor(e as never);
  }
  out.error(`unexpected internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, 'please report this with the command you ran');
  return EXIT.FAILURE;
}

void main();
