import type { Message } from '../types.js';

/**
 * What the index holds per retained topic: the whole message for the memory store, or only what
 * finds it (topic and expiry) for a Store that reads the payload from disk when it is replayed.
 */
export interface RetainedEntry {
  readonly topic: string;
  readonly expiresAt?: number | undefined;
}

/**
 * A level with children, or whose entry has levels below it. A level that is only a retained
 * topic (most of them: the leaves) is its entry itself in its parent's map, without a node: one
 * object fewer per retained message to keep, and to reach when a replay walks millions of them.
 */
class Node<Entry> {
  /** Made with the first child; a node left without children becomes its entry again, or goes. */
  children: Map<string, Slot<Entry>> | null = null;
  entry: Entry | null = null;
}

/** What a level's name leads to in its parent: a node, or a leaf's entry. */
type Slot<Entry> = Node<Entry> | Entry;

function isNode<Entry>(slot: Slot<Entry>): slot is Node<Entry> {
  return slot instanceof Node;
}

/**
 * Retained entries by topic name, in a trie of levels so that a filter walks only the branches
 * it can match instead of scanning every retained topic.
 */
export class RetainedIndex<Entry extends RetainedEntry = Message> {
  private readonly root = new Node<Entry>();
  private count = 0;
  /** When each retained message with a Message Expiry Interval expires, by topic. */
  private readonly expiring = new Map<string, number>();

  /** How many topics have a retained message. */
  get size(): number {
    return this.count;
  }

  /** Whether `topic` has a retained message. */
  has(topic: string): boolean {
    const levels = topic.split('/');
    let node = this.root;
    for (let i = 0; i < levels.length; i++) {
      const slot = node.children?.get(levels[i]!);
      if (slot === undefined) return false;
      if (!isNode(slot)) return i === levels.length - 1;
      node = slot;
    }
    return node.entry !== null;
  }

  /** Whether a retained message may match one of `filters`: false when none can, told by their first level. */
  mayMatch(filters: readonly string[]): boolean {
    const children = this.root.children;
    if (this.count === 0 || children === null) return false;
    for (const filter of filters) {
      const slash = filter.indexOf('/');
      const first = slash < 0 ? filter : filter.slice(0, slash);
      if (first === '+' || first === '#' || children.has(first)) return true;
    }
    return false;
  }

  /** Stores the entry of its topic, replacing the one there. */
  set(entry: Entry): void {
    const levels = entry.topic.split('/');
    const last = levels.length - 1;
    let node = this.root;
    for (let i = 0; i < last; i++) node = childNode(node, levels[i]!);
    const children = (node.children ??= new Map());
    const slot = children.get(levels[last]!);
    if (slot !== undefined && isNode(slot)) {
      if (slot.entry === null) this.count++;
      slot.entry = entry;
    } else {
      if (slot === undefined) this.count++;
      children.set(levels[last]!, entry);
    }
    if (entry.expiresAt === undefined) this.expiring.delete(entry.topic);
    else this.expiring.set(entry.topic, entry.expiresAt);
  }

  /** Removes the retained message of `topic`, if any. */
  remove(topic: string): void {
    this.delete(topic.split('/'));
  }

  /** Whether the retained message of `topic` expired at `now`. */
  isExpired(topic: string, now = Date.now()): boolean {
    const expiresAt = this.expiring.get(topic);
    return expiresAt !== undefined && expiresAt <= now;
  }

  /** The topics whose retained message expired at `now`: cost follows the messages with an expiry. */
  expiredTopics(now = Date.now()): string[] {
    const topics: string[] = [];
    for (const [topic, expiresAt] of this.expiring) if (expiresAt <= now) topics.push(topic);
    return topics;
  }

  private delete(levels: string[]): void {
    const path: Node<Entry>[] = [this.root];
    const last = levels.length - 1;
    for (let i = 0; i < last; i++) {
      const slot = path[i]!.children?.get(levels[i]!);
      if (slot === undefined || !isNode(slot)) return;
      path.push(slot);
    }
    const parent = path[last]!;
    const slot = parent.children?.get(levels[last]!);
    if (slot === undefined) return;
    let entry: Entry;
    if (isNode(slot)) {
      if (slot.entry === null) return;
      entry = slot.entry;
      slot.entry = null;
      path.push(slot);
    } else {
      entry = slot;
      parent.children!.delete(levels[last]!);
    }
    this.count--;
    this.expiring.delete(entry.topic);
    // Prune the nodes left empty, and make a node left with only its entry a leaf again.
    for (let i = path.length - 1; i > 0; i--) {
      const node = path[i]!;
      if (node.children !== null && node.children.size > 0) break;
      const children = path[i - 1]!.children!;
      if (node.entry !== null) {
        children.set(levels[i - 1]!, node.entry);
        break;
      }
      children.delete(levels[i - 1]!);
    }
  }

  /**
   * A walk over the retained messages matching any of `filters`, read a page at a time: a
   * subscription matching millions of them is replayed as its socket drains, never copied whole.
   */
  cursor(filters: readonly string[]): RetainedCursor<Entry> {
    return new TrieCursor(this.root, filters);
  }

  /**
   * The retained entries matching any of `filters`, once each, but those expired at `now`, whose
   * topics are listed apart for the Store to remove. [MQTT-3.3.2-5]
   */
  matchLive(filters: readonly string[], now = Date.now()): RetainedPage<Entry> {
    return this.cursor(filters).next(Infinity, now);
  }

  clear(): void {
    this.root.children = null;
    this.count = 0;
    this.expiring.clear();
  }
}

/**
 * Store.retainedPages for a Store whose retained topics are in a RetainedIndex: the cursor read
 * a page at a time, the expired messages it meets removed (`removeExpired`) before the page goes.
 */
export async function* pagesOf<Entry extends RetainedEntry>(
  cursor: RetainedCursor<Entry>,
  pageSize: number,
  removeExpired: (topics: string[]) => unknown,
): AsyncGenerator<Entry[], void, undefined> {
  for (;;) {
    const { entries, expired, done } = cursor.next(pageSize);
    if (expired.length > 0) await removeExpired(expired);
    if (entries.length > 0) yield entries;
    if (done) return;
  }
}

/** What a RetainedCursor read: the live entries, and the topics whose message expired. */
export interface RetainedPage<Entry extends RetainedEntry = Message> {
  entries: Entry[];
  expired: string[];
  /** True once every matching topic was read. */
  done: boolean;
}

/** Reads the retained entries matching some filters, a page at a time (RetainedIndex.cursor). */
export interface RetainedCursor<Entry extends RetainedEntry = Message> {
  /** Up to `limit` live entries (and the expired topics met on the way). */
  next(limit: number, now?: number): RetainedPage<Entry>;
}

/** Where a filter is in the walk: its levels, and the index of the one the next level is matched against. */
interface FilterState {
  levels: readonly string[];
  depth: number;
}

/** A node being walked: its children still to visit, and the filters that may match below it. */
interface Frame<Entry> {
  children: Iterator<[string, Slot<Entry>]> | readonly [string, Slot<Entry>][];
  at: number;
  /** Children not visited yet (as many as there were when the frame was made). */
  left: number;
  states: readonly FilterState[];
  top: boolean;
}

/**
 * Walks the trie once for all filters (a topic matched by two of them is found once), depth
 * first and without recursion (a topic of thousands of levels cannot exhaust the call stack),
 * holding one frame per level: the walk holds no message between pages. Messages stored while it
 * runs may or may not be found, those deleted before it reaches them are not.
 * [MQTT-4.7.2-1] wildcards at the first level skip '$' topics.
 */
class TrieCursor<Entry extends RetainedEntry> implements RetainedCursor<Entry> {
  private readonly stack: Frame<Entry>[];

  constructor(root: Node<Entry>, filters: readonly string[]) {
    const states = filters.map((filter) => ({ levels: filter.split('/'), depth: 0 }));
    this.stack = states.length === 0 ? [] : [frameOf(root, states, true)];
  }

  next(limit: number, now = Date.now()): RetainedPage<Entry> {
    const entries: Entry[] = [];
    const expired: string[] = [];
    const stack = this.stack;
    while (entries.length < limit && stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const next = nextChild(frame);
      // A frame whose last child is taken goes at once: a chain of levels holds one frame, not one per level.
      if (!next || --frame.left === 0) stack.pop();
      if (!next) continue;
      const [name, child] = next;
      const states = advance(frame.states, name, frame.top);
      if (states.length === 0) continue;
      const node = isNode(child) ? child : null;
      const entry = node === null ? (child as Entry) : node.entry;
      if (entry && states.some(matchesHere)) {
        if (entry.expiresAt !== undefined && entry.expiresAt <= now) expired.push(entry.topic);
        else entries.push(entry);
      }
      if (node !== null && node.children !== null && node.children.size > 0 && states.some(goesDeeper)) stack.push(frameOf(node, states, false));
    }
    return { entries, expired, done: stack.length === 0 };
  }
}

const NO_CHILDREN: ReadonlyMap<string, never> = new Map<string, never>();

/** The node of the level `name` under `node`, made (or made from the leaf there) if needed. */
function childNode<Entry>(node: Node<Entry>, name: string): Node<Entry> {
  const children = (node.children ??= new Map());
  const slot = children.get(name);
  if (slot !== undefined && isNode(slot)) return slot;
  const child = new Node<Entry>();
  if (slot !== undefined) child.entry = slot;
  children.set(name, child);
  return child;
}

/** The frame of `node`: every child when a filter has a wildcard at this level, else only the named ones. */
function frameOf<Entry>(node: Node<Entry>, states: readonly FilterState[], top: boolean): Frame<Entry> {
  const children: ReadonlyMap<string, Slot<Entry>> = node.children ?? NO_CHILDREN;
  if (states.some(({ levels, depth }) => levels[depth] === '+' || levels[depth] === '#')) {
    return { children: children.entries(), at: 0, left: children.size, states, top };
  }
  const named: [string, Slot<Entry>][] = [];
  for (const { levels, depth } of states) {
    const name = levels[depth]!;
    const child = children.get(name);
    if (child && !named.some(([n]) => n === name)) named.push([name, child]);
  }
  return { children: named, at: 0, left: named.length, states, top };
}

function nextChild<Entry>(frame: Frame<Entry>): [string, Slot<Entry>] | undefined {
  const children = frame.children;
  if (Array.isArray(children)) return (children as readonly [string, Slot<Entry>][])[frame.at++];
  const step = (children as Iterator<[string, Slot<Entry>]>).next();
  return step.done ? undefined : step.value;
}

/** The filters' states one level down, at the child `name`. */
function advance(states: readonly FilterState[], name: string, top: boolean): readonly FilterState[] {
  // Below a '#' of every filter nothing changes: the same states, not a copy per level.
  if (!top && states.every(matchesAll)) return states;
  const next: FilterState[] = [];
  for (const state of states) {
    const level = state.levels[state.depth];
    if (level === undefined) continue;
    if (level === '#' || level === '+') {
      if (top && name.startsWith('$')) continue;
      // '#' matches every level below, so its state stays where it is.
      next.push(level === '#' ? state : { levels: state.levels, depth: state.depth + 1 });
    } else if (level === name) {
      next.push({ levels: state.levels, depth: state.depth + 1 });
    }
  }
  return next;
}

/** Whether the filter matches the node it reached; '#' matches the parent level too. [MQTT-4.7.1-2] */
function matchesHere({ levels, depth }: FilterState): boolean {
  return depth === levels.length || levels[depth] === '#';
}

function matchesAll({ levels, depth }: FilterState): boolean {
  return levels[depth] === '#';
}

function goesDeeper({ levels, depth }: FilterState): boolean {
  return depth < levels.length;
}
