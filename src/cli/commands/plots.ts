import { Command } from 'commander';
import { lazyAction, parseCount, withGlobals } from '../context.js';

function pageOptions(cmd: Command): Command {
  return cmd
    .option('-o, --out <dir>', 'folder to write index.html (and copied images) to', 'rvc_plots')
    .option('--open', 'open the page in the system browser')
    .option('--html-template <file>', 'an HTML page with {plot_divs} where the plots go')
    .option('--ascii', 'draw line charts in the terminal instead of writing a page');
}

export function register(program: Command): void {
  const plots = program.command('plots').description('show plot files of the pipeline as charts: one offline HTML page, or the terminal');

  pageOptions(withGlobals(plots.command('show'), { json: true }))
    .description('the plots rvc.yaml defines (top-level plots: and stage plots: outputs) on one offline HTML page; with --history, every metric against the commits')
    .argument('[targets...]', 'plot ids, data files or folders (default: every plot); with --history, metrics files')
    .option('--history', 'plot each numeric metric of the metrics files over commits, oldest to newest (the workspace last when it differs)')
    .option('-n, --num <n>', 'with --history: the last N commits of HEAD (default 20)', parseCount)
    .option('-a, --all-branches', 'with --history: also the tip of every local branch')
    .option('-T, --all-tags', 'with --history: also every tag')
    .option('-A, --all-commits', 'with --history: also every commit')
    .action(lazyAction(() => import('../actions/plots.js'), 'runPlotsShow'));

  pageOptions(withGlobals(plots.command('diff'), { json: true }))
    .description('the same plots across git revisions and the workspace, each revision a colour')
    .argument('[revisions...]', 'git revisions to compare with the workspace (default HEAD)')
    .option('--targets <targets...>', 'plot ids, data files or folders (default: every plot)')
    .action(lazyAction(() => import('../actions/plots.js'), 'runPlotsDiff'));

  withGlobals(plots.command('templates'), { json: true })
    .description('list the plot templates, print one, or write them as files to edit (-o .rvc/plots makes them the project\'s)')
    .argument('[name]', 'a template (default: list them, or with -o write them all)')
    .option('-o, --out <dir>', 'write <name>.json files to this folder')
    .action(lazyAction(() => import('../actions/plots.js'), 'runPlotsTemplates'));

  withGlobals(plots.command('modify'))
    .description('set or remove display options of one plot in its pipeline file (every other byte is kept)')
    .argument('<target>', 'a stage\'s plots file, or a top-level plot id')
    .option('-t, --template <name>', 'template name')
    .option('-x <column>', 'column on the x axis')
    .option('-y <column>', 'column on the y axis')
    .option('--title <text>', 'plot title')
    .option('--x-label <text>', 'x axis title')
    .option('--y-label <text>', 'y axis title')
    .option('--unset <options...>', 'remove options (x, y, template, title, x_label, y_label)')
    .action(lazyAction(() => import('../actions/plots.js'), 'runPlotsModify'));
}
