import type { Ctx } from '../context.js';

export async function runInit({ lib, out, flags }: Ctx) {
  const r = lib.init({ noScm: flags.scm === false, force: !!flags.force, ...(flags.hash ? { hash: String(flags.hash) } : {}) });
  out.info(`${r.reinitialized ? 'Re-initialized' : 'Initialized'} rvc repository in ${r.root} (hash: ${r.hash})`);
  if (r.scm) {
    out.info('');
    out.info('Commit the new files to git:');
    out.info('    git add .rvc .rvcignore && git commit -m "Initialize rvc"');
  }
}
