/**
 * A trie of topic filters, each level a node, for finding every filter that matches a topic name.
 * It holds values of any kind under each filter (a client's subscription, a handler, ...).
 */
interface Node<V> {
  children: Map<string, Node<V>>;
  values: Map<string, V>;
}

function newNode<V>(): Node<V> {
  return { children: new Map(), values: new Map() };
}

export class TopicIndex<V> {
  private readonly root: Node<V> = newNode();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Stores `value` under `filter` and `key`, replacing what was there under the same pair. */
  add(filter: string, key: string, value: V): void {
    let node = this.root;
    for (const level of filter.split('/')) {
      let child = node.children.get(level);
      if (!child) {
        child = newNode();
        node.children.set(level, child);
      }
      node = child;
    }
    if (!node.values.has(key)) this.count++;
    node.values.set(key, value);
  }

  /** Removes what `key` holds under `filter`; returns whether there was something. */
  remove(filter: string, key: string): boolean {
    const path: Node<V>[] = [this.root];
    const levels = filter.split('/');
    for (const level of levels) {
      const child = path[path.length - 1]!.children.get(level);
      if (!child) return false;
      path.push(child);
    }
    const leaf = path[path.length - 1]!;
    if (!leaf.values.delete(key)) return false;
    this.count--;
    // Prune the nodes left empty, so the trie does not grow with every filter ever used.
    for (let i = levels.length; i > 0; i--) {
      const node = path[i]!;
      if (node.values.size > 0 || node.children.size > 0) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
    return true;
  }

  get(filter: string, key: string): V | undefined {
    let node: Node<V> | undefined = this.root;
    for (const level of filter.split('/')) {
      node = node.children.get(level);
      if (!node) return undefined;
    }
    return node.values.get(key);
  }

  /**
   * Calls `visit(key, value)` for every value whose filter matches `topic`. A key holding several
   * matching filters is visited once per filter; callers that need one delivery per key merge.
   */
  match(topic: string, visit: (key: string, value: V) => void): void {
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] a topic starting with '$' is not matched by a filter starting with a wildcard.
    this.walk(this.root, levels, 0, topic.charCodeAt(0) === 36 /* $ */, visit);
  }

  private walk(node: Node<V>, levels: string[], depth: number, dollar: boolean, visit: (key: string, value: V) => void): void {
    const wildcardsAllowed = !(dollar && depth === 0);
    if (wildcardsAllowed) {
      const hash = node.children.get('#');
      // '#' also matches the parent level: 'a/#' matches 'a'. [MQTT-4.7.1-2]
      if (hash) for (const [key, value] of hash.values) visit(key, value);
    }
    if (depth === levels.length) {
      for (const [key, value] of node.values) visit(key, value);
      return;
    }
    const exact = node.children.get(levels[depth]!);
    if (exact) this.walk(exact, levels, depth + 1, dollar, visit);
    if (wildcardsAllowed) {
      const plus = node.children.get('+');
      if (plus) this.walk(plus, levels, depth + 1, dollar, visit);
    }
  }

  /** Every (filter, key, value) held, for listing and persistence. */
  *entries(): IterableIterator<[string, string, V]> {
    const stack: [Node<V>, string[]][] = [[this.root, []]];
    while (stack.length > 0) {
      const [node, path] = stack.pop()!;
      for (const [key, value] of node.values) yield [path.join('/'), key, value];
      for (const [level, child] of node.children) stack.push([child, [...path, level]]);
    }
  }
}
