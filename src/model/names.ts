/**
 * The names of rvc's own files in a project, spelled once, and the names of stages across
 * several pipeline files. A tiny module of its own so that code deciding whether a project has
 * a pipeline does not load the pipeline parser.
 *
 * A project may hold a pipeline file in any folder (`rvc.yaml`, `sub/rvc.yaml`, …), each with its
 * lock beside it. A stage is known everywhere by its id: its name for the root file (`train`),
 * `sub/rvc.yaml:train` for any other — so ids never collide, and the root pipeline reads as it
 * always did.
 */
import path from 'node:path';

/** The pipeline file's name, in whatever folder it sits (the root's is `rvc.yaml`). */
export const PIPELINE_FILE = 'rvc.yaml';
/** The pipeline's lock file's name, beside its pipeline file. */
export const LOCK_FILE = 'rvc.lock';

/** Whether repository-relative `rel` is a pipeline file (any folder). */
export function isPipelineFile(rel: string): boolean {
  return rel === PIPELINE_FILE || rel.endsWith(`/${PIPELINE_FILE}`);
}

/** Whether repository-relative `rel` is a lock file (any folder). */
export function isLockFile(rel: string): boolean {
  return rel === LOCK_FILE || rel.endsWith(`/${LOCK_FILE}`);
}

/** The folder of a pipeline or lock file, relative to the root ('.' for the root). */
export function pipelineDirOf(file: string): string {
  return path.posix.dirname(file);
}

/** The lock file beside pipeline file `file`. */
export function lockFileOf(file: string): string {
  const dir = pipelineDirOf(file);
  return dir === '.' ? LOCK_FILE : `${dir}/${LOCK_FILE}`;
}

/** The pipeline file beside lock file `lock`. */
export function pipelineFileOf(lock: string): string {
  const dir = pipelineDirOf(lock);
  return dir === '.' ? PIPELINE_FILE : `${dir}/${PIPELINE_FILE}`;
}

/** The pipeline file in folder `dir` ('.' or '' for the root). */
export function pipelineFileIn(dir: string): string {
  return dir === '.' || dir === '' ? PIPELINE_FILE : `${dir}/${PIPELINE_FILE}`;
}

/** The id of stage `local` of pipeline file `file`. */
export function stageId(file: string, local: string): string {
  return file === PIPELINE_FILE ? local : `${file}:${local}`;
}

/** The pipeline file and the name in it of a stage id. */
export function splitStageId(id: string): { file: string; local: string } {
  const i = id.lastIndexOf(':');
  if (i > 0) {
    const file = id.slice(0, i);
    if (isPipelineFile(file)) return { file, local: id.slice(i + 1) };
  }
  return { file: PIPELINE_FILE, local: id };
}
