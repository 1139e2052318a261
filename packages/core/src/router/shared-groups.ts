import type { Client } from '../connection/client.js';
import { matchingFilter } from '../topics/shared-filter.js';
import { TopicIndex } from '../topics/topic-index.js';

/** How a member is chosen for each message: in turn (the default), or at random. */
export type SharedSubscriptionStrategy = 'round-robin' | 'random';

/** Members of a group on another broker instance, as that instance last announced them. */
interface RemoteMembers {
  count: number;
  seenAt: number;
}

/** One shared subscription, `$share/<group>/<filter>`, as this instance knows it. */
export interface SharedGroup {
  /** The whole filter, `$share/<group>/<filter>`: what identifies the group. */
  readonly key: string;
  /** Members connected to this instance, in the order they joined. */
  readonly local: Client[];
  /** Members on other instances, by broker id. */
  readonly remote: Map<string, RemoteMembers>;
  /** Where round robin goes on. */
  cursor: number;
}

/** Where a message of a group goes: a member on this instance, or another instance. */
export type SharedTarget = { client: Client } | { brokerId: string };

/**
 * The shared subscriptions this instance knows of: its own members (exactly), and how many members
 * each other instance announced (see SharedSubscriptions). Groups are indexed by the filter they
 * match with, apart from the ordinary subscriptions, so the Router does no shared-subscription
 * work: routing a message costs nothing more while no group exists.
 */
export class SharedGroups {
  private readonly groups = new Map<string, SharedGroup>();
  private readonly index = new TopicIndex<SharedGroup>();

  constructor(private readonly strategy: SharedSubscriptionStrategy = 'round-robin') {}

  /** How many groups are known, here or elsewhere. */
  get size(): number {
    return this.groups.size;
  }

  get(key: string): SharedGroup | undefined {
    return this.groups.get(key);
  }

  /** Adds a member on this instance; true when it was not one yet. */
  join(client: Client, key: string): boolean {
    const group = this.group(key);
    if (group.local.includes(client)) return false;
    group.local.push(client);
    return true;
  }

  /** Removes a member on this instance; true when it was one. */
  leave(client: Client, key: string): boolean {
    const group = this.groups.get(key);
    const at = group ? group.local.indexOf(client) : -1;
    if (at === -1) return false;
    group!.local.splice(at, 1);
    this.forgetIfEmpty(group!);
    return true;
  }

  /** Every group whose filter matches `topic`. */
  matching(topic: string): SharedGroup[] {
    const found: SharedGroup[] = [];
    this.index.match(topic, (_key, group) => found.push(group));
    return found;
  }

  /** How many members each group has on this instance: what this instance announces. */
  localCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const group of this.groups.values()) if (group.local.length > 0) counts[group.key] = group.local.length;
    return counts;
  }

  /** Replaces what is known of another instance's members with its latest announcement. */
  setRemote(brokerId: string, counts: Record<string, number>, now: number): void {
    for (const group of [...this.groups.values()]) {
      if (!(group.key in counts) && group.remote.delete(brokerId)) this.forgetIfEmpty(group);
    }
    for (const [key, count] of Object.entries(counts)) {
      if (typeof count !== 'number' || count <= 0) continue;
      this.group(key).remote.set(brokerId, { count, seenAt: now });
    }
  }

  /** Forgets the members of instances that announced nothing since `before` (stopped without a word). */
  expireRemote(before: number): void {
    for (const group of [...this.groups.values()]) {
      for (const [brokerId, members] of group.remote) if (members.seenAt < before) group.remote.delete(brokerId);
      this.forgetIfEmpty(group);
    }
  }

  /**
   * A member of `group` by the strategy: one of this instance's that `eligible` admits, or
   * another instance (not in `excluded`) counted once per member it announced; null when none.
   */
  pick(group: SharedGroup, eligible: (client: Client) => boolean, excluded?: ReadonlySet<string>): SharedTarget | null {
    const locals = group.local.filter(eligible);
    let total = locals.length;
    for (const [brokerId, { count }] of group.remote) if (!excluded?.has(brokerId)) total += count;
    if (total === 0) return null;
    let slot = this.strategy === 'random' ? Math.floor(Math.random() * total) : group.cursor++ % total;
    if (group.cursor >= 0x3fffffff) group.cursor = 0;
    if (slot < locals.length) return { client: locals[slot]! };
    slot -= locals.length;
    for (const [brokerId, { count }] of group.remote) {
      if (excluded?.has(brokerId)) continue;
      if (slot < count) return { brokerId };
      slot -= count;
    }
    return null;
  }

  /** One of this instance's members that `eligible` admits, by the strategy; null when none. */
  pickLocal(group: SharedGroup, eligible: (client: Client) => boolean): Client | null {
    const locals = group.local.filter(eligible);
    if (locals.length === 0) return null;
    const slot = this.strategy === 'random' ? Math.floor(Math.random() * locals.length) : group.cursor++ % locals.length;
    if (group.cursor >= 0x3fffffff) group.cursor = 0;
    return locals[slot]!;
  }

  private group(key: string): SharedGroup {
    let group = this.groups.get(key);
    if (!group) {
      group = { key, local: [], remote: new Map(), cursor: 0 };
      this.groups.set(key, group);
      this.index.add(matchingFilter(key), key, group);
    }
    return group;
  }

  private forgetIfEmpty(group: SharedGroup): void {
    if (group.local.length > 0 || group.remote.size > 0) return;
    this.groups.delete(group.key);
    this.index.remove(matchingFilter(group.key), group.key);
  }
}
