/**
 * How this broker's topics map to the parent's (Mosca's PrefixAscoltatore: `<prefix>/<topic>`),
 * and back. Pure functions, so the mapping is unit-tested without a broker.
 */

/** Why `prefix` cannot be used, or null. */
export function prefixError(prefix: string): string | null {
  if (prefix.includes('+') || prefix.includes('#')) return 'must not contain the wildcards + or #';
  if (prefix.includes('\u0000')) return 'must not contain U+0000';
  // '$share/...' would make the parent share one subscription between the instances.
  if (prefix.startsWith('$')) return "must not start with '$' (the parent's $SYS and $share live there)";
  return null;
}

/**
 * The parent's topic for a topic of this broker, or null when it is not bridged: without a
 * prefix, `$` topics (this broker's $SYS) stay local, since the parent's `$SYS` is the parent's.
 */
export function toParentTopic(prefix: string | null, topic: string): string | null {
  if (prefix === null) return topic.startsWith('$') ? null : topic;
  return `${prefix}/${topic}`;
}

/**
 * This broker's topic for a topic received from the parent, or null when it is not one of ours:
 * `<prefix>` itself and `<prefix>/` match the `<prefix>/#` subscription but map to no valid topic.
 */
export function fromParentTopic(prefix: string | null, parentTopic: string): string | null {
  if (prefix === null) return parentTopic;
  if (parentTopic.length <= prefix.length + 1 || !parentTopic.startsWith(prefix) || parentTopic[prefix.length] !== '/') return null;
  return parentTopic.slice(prefix.length + 1);
}

/** The one subscription on the parent that brings every bridged topic. */
export function parentFilter(prefix: string | null): string {
  return prefix === null ? '#' : `${prefix}/#`;
}

/**
 * The topic of an instance's sync() markers: a `$` topic, so that the parent's `#` subscribers
 * (ours included, without a prefix) never see them, and one per instance.
 */
export function syncTopic(instanceId: string): string {
  return `$skynet/bridge/${instanceId}/sync`;
}
