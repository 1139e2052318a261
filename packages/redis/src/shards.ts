import calculateSlot from 'cluster-key-slot';

/** Hash slots of Redis Cluster. */
const SLOTS = 16_384;

/**
 * The key prefix of each shard (option `shards`). One shard is the single-slot layout, unchanged:
 * `prefix`, or `{prefix}` on Cluster. With N shards, shard i is a copy of that layout under its
 * own hash tag, `{<prefix>shard<i>of<N>-<k>}` on Cluster (`<prefix>shard<i>of<N>:` elsewhere),
 * where k is the smallest number that puts the tag's slot in the i-th Nth of the slot space:
 * `redis-cli --cluster create` gives each master an equal run of slots, so N shards on N masters
 * land one on each, and a multiple of the masters spreads evenly. The count is in the name, so
 * instances configured with different counts never read each other's keys as their own.
 */
export function shardPrefixes(prefix: string, count: number, cluster: boolean): string[] {
  if (count === 1) return [cluster ? `{${prefix}}` : prefix];
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}shard${i}of${count}`;
    if (!cluster) return `${name}:`;
    const low = Math.ceil((i * SLOTS) / count);
    const high = Math.ceil(((i + 1) * SLOTS) / count);
    for (let k = 0; ; k++) {
      const slot = calculateSlot(`${name}-${k}`);
      if (slot >= low && slot < high) return `{${name}-${k}}`;
    }
  });
}

/** The shard of a client id or a topic: stable across instances and restarts. */
export function shardOf(key: string, count: number): number {
  return count === 1 ? 0 : calculateSlot(key) % count;
}

/**
 * With several streams an Emitter position says which stream too: entry number n of stream s is
 * n × count + s, so positions of one stream keep their order and the stream is position mod count
 * (with one stream, the position is the entry number, as before).
 */
export function streamPosition(n: number, stream: number, count: number): number {
  return n * count + stream;
}

export function positionStream(position: number, count: number): { n: number; stream: number } {
  return { n: Math.floor(position / count), stream: position % count };
}
