import { Command } from 'commander';
import { action, withGlobals } from '../context.js';
import { EXIT } from '../exit.js';
import { plural } from '../output.js';

export function register(program: Command): void {
  withGlobals(program.command('fsck'), { json: true })
    .description('re-hash every cache object and report corrupt ones')
    .option('--repair', 'remove corrupt objects and leftovers of interrupted writes')
    .action(action(async ({ lib, out, flags, common }) => {
      const r = await lib.fsck({ ...common, repair: !!flags.repair });
      if (flags.json) {
        out.json(r);
        return r.corrupt.length && !r.repaired ? EXIT.FAILURE : EXIT.OK;
      }
      for (const oid of r.corrupt) out.info(`${r.repaired ? 'removed corrupt' : 'corrupt'}: ${oid}`);
      if (r.leftovers.length) out.info(`${r.repaired ? 'Removed' : 'Found'} ${plural(r.leftovers.length, 'temporary file')} of interrupted writes.`);
      if (!r.corrupt.length) {
        out.info(`Checked ${plural(r.checked, 'object')}: all good.`);
        return EXIT.OK;
      }
      if (r.repaired) {
        out.info(`Removed ${plural(r.corrupt.length, 'corrupt object')}; fetch them again with \`rvc pull\` or re-add the data.`);
        return EXIT.OK;
      }
      out.error(`${plural(r.corrupt.length, 'corrupt object')} in the cache`, 'run `rvc fsck --repair` to remove them, then `rvc pull` or re-add the data');
      return EXIT.FAILURE;
    }));
}
