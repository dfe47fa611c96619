import { RvcError } from '../../src/errors.js';

/** The RvcError `fn` throws; any other outcome (no throw, another error type) fails the test. */
export function rvcError(fn: () => unknown): RvcError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof RvcError)) throw e;
    return e;
  }
  throw new Error('expected an RvcError');
}

/** The code of the RvcError `fn` throws. */
export function codeOf(fn: () => unknown): string {
  return rvcError(fn).code;
}
