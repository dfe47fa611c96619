/**
 * The names of rvc's own files in a project, spelled once. A tiny module of its own so that
 * code deciding whether a project has a pipeline does not load the pipeline parser.
 */

/** The pipeline file at the repository root. */
export const PIPELINE_FILE = 'rvc.yaml';
/** The pipeline's lock file, beside it. */
export const LOCK_FILE = 'rvc.lock';
