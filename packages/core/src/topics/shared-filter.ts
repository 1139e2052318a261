import { wildcardError } from './validate.js';

/** The prefix of a shared subscription's filter: `$share/<group>/<filter>`. [MQTT-4.8.2-1] */
export const SHARE_PREFIX = '$share/';

/** Whether a subscription's filter names a shared subscription (`$share/...`). */
export function isSharedFilter(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}

/**
 * The filter a subscription matches topics with: `<filter>` of `$share/<group>/<filter>`, the
 * filter itself otherwise. Stores index durable subscriptions by it (Store.subscriptionsByTopic).
 */
export function matchingFilter(filter: string): string {
  if (!filter.startsWith(SHARE_PREFIX)) return filter;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  return slash === -1 ? filter : filter.slice(slash + 1);
}

/**
 * Why `$share/...` is not a valid shared subscription, or null. The group (Share Name) is at least
 * one character with no '/', '+' or '#' [MQTT-4.8.2-2], and a filter follows it. [MQTT-4.8.2-1]
 */
export function sharedFilterError(filter: string): string | null {
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash === -1) return 'a shared subscription is $share/<group>/<filter>';
  const group = filter.slice(SHARE_PREFIX.length, slash);
  if (group.length === 0) return 'empty group name in a shared subscription';
  if (group.includes('+') || group.includes('#')) return "'+' or '#' in the group name of a shared subscription";
  if (slash === filter.length - 1) return 'empty topic filter in a shared subscription';
  return wildcardError(filter.slice(slash + 1));
}
