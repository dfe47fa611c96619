import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('init'))
    .description('create an rvc repository (.rvc/ and .rvcignore) in the current folder')
    .option('--no-scm', 'use rvc without git')
    .option('-f, --force', 're-initialise an existing repository (the cache is kept)')
    .option('--hash <algo>', 'hash algorithm for objects: blake3 (default) or sha256')
    .action(action(async ({ lib, out, flags }) => {
      const r = lib.init({ noScm: flags.scm === false, force: !!flags.force, ...(flags.hash ? { hash: String(flags.hash) } : {}) });
      out.info(`${r.reinitialized ? 'Re-initialized' : 'Initialized'} rvc repository in ${r.root} (hash: ${r.hash})`);
      if (r.scm) {
        out.info('');
        out.info('Commit the new files to git:');
        out.info('    git add .rvc .rvcignore && git commit -m "Initialize rvc"');
      }
    }));
}
