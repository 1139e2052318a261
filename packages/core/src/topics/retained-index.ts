import type { Message } from '../types.js';

/**
 * Retained messages by topic name, in a trie of levels so that a filter walks only the branches
 * it can match instead of scanning every retained topic.
 */
interface Node {
  children: Map<string, Node>;
  message?: Message;
}

export class RetainedIndex {
  private readonly root: Node = { children: new Map() };
  private count = 0;

  /** How many topics have a retained message. */
  get size(): number {
    return this.count;
  }

  /** Whether `topic` has a retained message. */
  has(topic: string): boolean {
    let node: Node | undefined = this.root;
    for (const level of topic.split('/')) {
      node = node.children.get(level);
      if (!node) return false;
    }
    return node.message !== undefined;
  }

  /** Stores the message, or deletes the topic's message when the payload is empty. */
  set(message: Message): void {
    const levels = message.topic.split('/');
    if (message.payload.length === 0) {
      this.delete(levels);
      return;
    }
    let node = this.root;
    for (const level of levels) {
      let child = node.children.get(level);
      if (!child) {
        child = { children: new Map() };
        node.children.set(level, child);
      }
      node = child;
    }
    if (!node.message) this.count++;
    node.message = message;
  }

  private delete(levels: string[]): void {
    const path: Node[] = [this.root];
    for (const level of levels) {
      const child = path[path.length - 1]!.children.get(level);
      if (!child) return;
      path.push(child);
    }
    const last = path[path.length - 1]!;
    if (!last.message) return;
    this.count--;
    delete last.message;
    for (let i = levels.length; i > 0; i--) {
      const node = path[i]!;
      if (node.message || node.children.size > 0) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
  }

  /**
   * Every retained message matching `filter`; [MQTT-4.7.2-1] wildcards skip '$' topics at the top.
   * Walked without recursion, so a topic of thousands of levels cannot exhaust the call stack.
   */
  match(filter: string, out: Message[] = []): Message[] {
    const levels = filter.split('/');
    const pending: [Node, number][] = [[this.root, 0]];
    while (pending.length > 0) {
      const [node, depth] = pending.pop()!;
      if (depth === levels.length) {
        if (node.message) out.push(node.message);
        continue;
      }
      const level = levels[depth]!;
      if (level === '#') {
        // '#' matches the parent level too. [MQTT-4.7.1-2]
        if (node.message && depth > 0) out.push(node.message);
        this.collect(node, depth === 0, out);
      } else if (level === '+') {
        for (const [name, child] of node.children) {
          if (depth === 0 && name.startsWith('$')) continue;
          pending.push([child, depth + 1]);
        }
      } else {
        const child = node.children.get(level);
        if (child) pending.push([child, depth + 1]);
      }
    }
    return out;
  }

  /** Every message below `node`. */
  private collect(node: Node, top: boolean, out: Message[]): void {
    const pending: Node[] = [];
    for (const [name, child] of node.children) if (!(top && name.startsWith('$'))) pending.push(child);
    while (pending.length > 0) {
      const next = pending.pop()!;
      if (next.message) out.push(next.message);
      for (const child of next.children.values()) pending.push(child);
    }
  }

  clear(): void {
    this.root.children.clear();
    this.count = 0;
  }
}
