import { Repo } from '../repo/repo.js';
import { checkoutTargets, type CheckoutOptions, type CheckoutResult, type OutCheckout } from '../repo/checkout.js';

export type { CheckoutOptions, CheckoutResult, OutCheckout };

/**
 * Makes the workspace match the pointers (after `git checkout`, or to undo edits). One output
 * failing (e.g. its data not in the cache) does not stop the others; the result lists it.
 */
export async function checkout(opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  return checkoutTargets(Repo.open(opts.cwd), opts);
}
