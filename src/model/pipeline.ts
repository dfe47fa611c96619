/**
 * rvc.yaml, one file per concern under `pipeline/`: the resolved stages and their name rules
 * (`types.ts`), parsing (`parse.ts`), the stage fingerprint (`fingerprint.ts`) and editing
 * (`edit.ts`). The model imports those files directly; this module gathers them for the layers
 * above, which need a few names from each.
 */
export * from './pipeline/types.js';
export * from './pipeline/parse.js';
export * from './pipeline/fingerprint.js';
export * from './pipeline/edit.js';
export { PIPELINE_FILE } from './names.js';
