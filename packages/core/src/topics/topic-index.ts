/**
 * A trie of topic filters, each level a node, for finding every filter that matches a topic name.
 * It holds values of any kind under each filter (a client's subscription, a handler, ...).
 * Most nodes of a large index are leaves with one value: a node holds its first value inline and
 * makes a map only for a second (an empty Map costs about 230 bytes, the inline pair 16).
 * A node's '+' and '#' children are fields, not map entries, so matching a topic tests for them
 * with two reads per level instead of two map lookups.
 */
interface Node<V> {
  /** The children of literal levels. */
  children: Map<string, Node<V>> | null;
  plus: Node<V> | null;
  hash: Node<V> | null;
  /** The key of the node's only value, while it has one; null when it has none, or a map. */
  key: string | null;
  value: V | undefined;
  /** Every value of the node once it had two (then `key` is null). */
  values: Map<string, V> | null;
}

type Visit<V> = (key: string, value: V) => void;

function newNode<V>(): Node<V> {
  return { children: null, plus: null, hash: null, key: null, value: undefined, values: null };
}

function isEmpty<V>(node: Node<V>): boolean {
  return node.key === null && !node.values?.size && !node.children?.size && node.plus === null && node.hash === null;
}

function childOf<V>(node: Node<V>, level: string): Node<V> | undefined {
  if (level === '+') return node.plus ?? undefined;
  if (level === '#') return node.hash ?? undefined;
  return node.children?.get(level);
}

function setChild<V>(node: Node<V>, level: string, child: Node<V> | null): void {
  if (level === '+') node.plus = child;
  else if (level === '#') node.hash = child;
  else if (child) (node.children ??= new Map()).set(level, child);
  else node.children?.delete(level);
}

function valueOf<V>(node: Node<V>, key: string): V | undefined {
  return node.key === key ? node.value : node.values?.get(key);
}

export class TopicIndex<V> {
  private readonly root: Node<V> = newNode();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Stores `value` under `filter` and `key`, replacing what was there under the same pair; true when the pair is new. */
  add(filter: string, key: string, value: V): boolean {
    let node = this.root;
    for (const level of filter.split('/')) {
      let child = childOf(node, level);
      if (!child) {
        child = newNode();
        setChild(node, level, child);
      }
      node = child;
    }
    let isNew = true;
    if (node.values) {
      isNew = !node.values.has(key);
      node.values.set(key, value);
    } else if (node.key === null || node.key === key) {
      isNew = node.key === null;
      node.key = key;
      node.value = value;
    } else {
      node.values = new Map([[node.key, node.value as V], [key, value]]);
      node.key = null;
      node.value = undefined;
    }
    if (isNew) this.count++;
    return isNew;
  }

  /** Removes what `key` holds under `filter`; returns whether there was something. */
  remove(filter: string, key: string): boolean {
    const path: Node<V>[] = [this.root];
    const levels = filter.split('/');
    for (const level of levels) {
      const child = childOf(path[path.length - 1]!, level);
      if (!child) return false;
      path.push(child);
    }
    const leaf = path[path.length - 1]!;
    if (leaf.key === key) {
      leaf.key = null;
      leaf.value = undefined;
    } else if (!leaf.values?.delete(key)) {
      return false;
    }
    this.count--;
    // Prune the nodes left empty, so the trie does not grow with every filter ever used.
    for (let i = levels.length; i > 0; i--) {
      const node = path[i]!;
      if (!isEmpty(node)) break;
      setChild(path[i - 1]!, levels[i - 1]!, null);
    }
    return true;
  }

  get(filter: string, key: string): V | undefined {
    let node: Node<V> | undefined = this.root;
    for (const level of filter.split('/')) {
      node = childOf(node, level);
      if (!node) return undefined;
    }
    return valueOf(node, key);
  }

  /**
   * Calls `visit(key, value)` for every value whose filter matches `topic`. A key holding several
   * matching filters is visited once per filter; callers that need one delivery per key merge.
   */
  match(topic: string, visit: Visit<V>): void {
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] a topic starting with '$' is not matched by a filter starting with a wildcard.
    const dollar = topic.charCodeAt(0) === 36; /* $ */
    // Depth first, without recursion: a topic of thousands of levels must not exhaust the call
    // stack. The walk follows one branch; where a '+' child offers a second, it is kept (node,
    // depth) for later, so the usual exact-match path allocates nothing.
    let pending: (Node<V> | number)[] | null = null;
    let node = this.root;
    let depth = 0;
    for (;;) {
      const wildcardsAllowed = !(dollar && depth === 0);
      // '#' also matches the parent level: 'a/#' matches 'a'. [MQTT-4.7.1-2]
      if (wildcardsAllowed && node.hash !== null) visitAll(node.hash, visit);
      let next: Node<V> | undefined;
      if (depth === levels.length) {
        visitAll(node, visit);
      } else {
        next = node.children?.get(levels[depth]!);
        const plus = wildcardsAllowed ? node.plus : null;
        if (plus !== null) {
          if (next) (pending ??= []).push(plus, depth + 1);
          else next = plus;
        }
      }
      if (next) {
        node = next;
        depth++;
      } else if (pending && pending.length > 0) {
        depth = pending.pop() as number;
        node = pending.pop() as Node<V>;
      } else {
        return;
      }
    }
  }

  /** Every (filter, key, value) held, for listing and persistence. */
  *entries(): IterableIterator<[string, string, V]> {
    // Paths as strings built from their parent's (V8 keeps the shared prefix): deep filters stay cheap.
    const stack: [Node<V>, string | null][] = [[this.root, null]];
    while (stack.length > 0) {
      const [node, path] = stack.pop()!;
      if (path !== null && node.key !== null) yield [path, node.key, node.value as V];
      else if (path !== null && node.values) for (const [key, value] of node.values) yield [path, key, value];
      const at = (level: string) => (path === null ? level : `${path}/${level}`);
      if (node.children) for (const [level, child] of node.children) stack.push([child, at(level)]);
      if (node.plus) stack.push([node.plus, at('+')]);
      if (node.hash) stack.push([node.hash, at('#')]);
    }
  }
}

function visitAll<V>(node: Node<V>, visit: Visit<V>): void {
  if (node.key !== null) visit(node.key, node.value as V);
  else if (node.values) for (const [key, value] of node.values) visit(key, value);
}
