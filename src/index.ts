/** rvc's public library API. The CLI (src/cli) uses only what is exported here. */
export { RvcError, isRvcError, type ErrorCode } from './errors.js';
export type { ProgressEvent, ProgressFn } from './progress.js';
export { Repo, type CommonOptions, type TrackedOut } from './repo/repo.js';
export { init, type InitOptions, type InitResult } from './repo/init.js';
export { add, type AddOptions, type AddResult, type AddedOut } from './repo/add.js';
export { status, type StatusOptions, type StatusResult, type OutStatus } from './repo/status.js';
export { commit, type CommitOptions, type CommitResult } from './repo/commit.js';
export { checkout, type CheckoutOptions, type CheckoutResult, type OutCheckout } from './repo/checkout.js';
export { gc, type GcOptions, type GcResult } from './repo/gc.js';
export { fsck, type FsckOptions, type FsckResult } from './repo/fsck.js';
export { remove, type RemoveOptions, type RemoveResult } from './repo/remove.js';
export { move, type MoveResult } from './repo/move.js';
export { unprotect, type UnprotectResult } from './repo/unprotect.js';
export { configGet, configSet, configList, assertKeyGiven, type ConfigOptions } from './repo/config.js';
export { version, rvcVersion, type VersionInfo } from './repo/version.js';
export { parsePointer, serializePointer, type Pointer, type PointerOut } from './model/pointer.js';
export { parseTree, serializeTree, type TreeEntry } from './model/tree.js';
export { parseConfigLayer, type Config } from './model/config.js';
