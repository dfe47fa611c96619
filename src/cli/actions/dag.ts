import type { Ctx } from '../context.js';

export async function runDag({ lib, out, flags, common }: Ctx, target: string | undefined) {
  const r = await lib.dag({
    ...common,
    ...(target ? { target } : {}),
    downstream: !!flags.downstream,
    format: flags.dot ? 'dot' : flags.mermaid ? 'mermaid' : flags.md ? 'md' : 'ascii',
    outs: !!flags.outs,
  });
  if (flags.json) return out.json(flags.outs ? { outs: r.stages, edges: r.edges } : { stages: r.stages, edges: r.edges });
  if (r.stages.length === 0) return out.info(flags.outs ? 'No stage outputs yet.' : 'No stages yet. Add one with `rvc stage add`.');
  process.stdout.write(r.text);
}
