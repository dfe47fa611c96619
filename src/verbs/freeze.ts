import path from 'node:path';
import { RvcError } from '../errors.js';
import { setStageFrozen } from '../model/pipeline.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { PIPELINE_FILE, readRepoText, varsLoader } from '../repo/project.js';

export interface FreezeResult {
  /** The stages as named, and whether rvc.yaml changed for each (false: it already was so). */
  stages: { name: string; changed: boolean }[];
  file: string;
}

/** A stage target: `name` or `rvc.yaml:name`. */
export function stageKey(repo: Repo, target: string, cwd: string | undefined): string {
  const colon = target.lastIndexOf(':');
  if (colon > 0) {
    const file = target.slice(0, colon);
    const rel = repo.resolve(file, cwd).rel;
    if (rel !== PIPELINE_FILE) {
      throw new RvcError('STAGE_NOT_FOUND', `'${file}' is not the project's ${PIPELINE_FILE}`, { path: file, hint: `name the stage alone, or as \`${PIPELINE_FILE}:<stage>\`` });
    }
    return target.slice(colon + 1);
  }
  return target;
}

async function setFrozen(stages: string[], frozen: boolean, opts: CommonOptions): Promise<FreezeResult> {
  const verb = frozen ? 'freeze' : 'unfreeze';
  if (stages.length === 0) throw new RvcError('USAGE', `nothing to ${verb}`, { hint: `name the stages: \`rvc ${verb} train\`` });
  const repo = Repo.open(opts.cwd);
  return repo.withLock(`rvc ${verb}`, opts, () => {
    const before = readRepoText(repo, PIPELINE_FILE);
    if (before === undefined) {
      throw new RvcError('PIPELINE_INVALID', `there is no ${PIPELINE_FILE} in '${repo.root}'`, { path: PIPELINE_FILE, hint: 'add a stage first: `rvc stage add`' });
    }
    const load = varsLoader((rel) => readRepoText(repo, rel));
    let text = before;
    const res: FreezeResult = { stages: [], file: PIPELINE_FILE };
    for (const t of stages) {
      const name = stageKey(repo, t, opts.cwd);
      const next = setStageFrozen(text, name, frozen, PIPELINE_FILE, { loadVarsFile: load });
      res.stages.push({ name, changed: next !== text });
      text = next;
    }
    if (text !== before) writeFileAtomic(path.join(repo.root, PIPELINE_FILE), text);
    return res;
  });
}

/**
 * `rvc freeze`: sets `frozen: true` on stages of rvc.yaml (only that line changes): `repro` and
 * `status` leave a frozen stage as it is, and its outputs are used as they are recorded.
 */
export function freeze(stages: string[], opts: CommonOptions = {}): Promise<FreezeResult> {
  return setFrozen(stages, true, opts);
}

/** `rvc unfreeze`: removes `frozen: true` from stages of rvc.yaml. */
export function unfreeze(stages: string[], opts: CommonOptions = {}): Promise<FreezeResult> {
  return setFrozen(stages, false, opts);
}
