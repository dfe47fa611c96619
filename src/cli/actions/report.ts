import type { Ctx } from '../context.js';

export async function runReport({ lib, out, flags, common }: Ctx) {
  const r = await lib.report({ ...common, ...(flags.out !== undefined ? { output: String(flags.out), format: flags.json ? 'json' as const : 'md' as const } : {}) });
  if (r.written) return out.info(`${r.stars}/5 stars; report written to ${String(flags.out)}`);
  if (flags.json) return out.json(r);
  if (!flags.quiet) process.stdout.write(await lib.renderReportMarkdown(r));
}
