/**
 * Lets the process exit while `timer` is pending. Fake timers that hand out numbers instead of
 * Timeout objects (sinon's, which Mosca's own tests install) have nothing to unref: that is fine.
 */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => unknown }).unref?.();
  return timer;
}
