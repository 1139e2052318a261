/**
 * Frees the buffers of socket reads before V8 runs a full collection for them.
 *
 * Node gives every socket read an ArrayBuffer of its own (up to 64 KB), garbage as soon as its
 * packets are handled and written on. V8 frees young ArrayBuffers in a scavenge, but asks for a
 * scavenge on their account only once 32 MB of them are alive, while it counts their bytes at
 * once against the old generation's allocation limit, which for a broker's small heap lies ~12 MB
 * above what it holds. Reading large payloads, the broker therefore ran a mark-compact every
 * ~30 MB read, about 26 ms of CPU each (mostly concurrent marking on another core): half of its
 * CPU per MB at 16 KB payloads (docs/performance.md, goal 2 of issue 15). A scavenge every 8 MB
 * read frees them first, at under a millisecond each; with small messages the scavenges that
 * their garbage causes anyway come sooner, and this adds a few per second at most.
 *
 * This needs V8's `gc` function, which `--expose-gc` makes global (the `skynet-mqtt` command
 * sets it); without it, nothing is done.
 */
const SCAVENGE_EVERY = 8 * 1024 * 1024;

type Collect = (options: { type: 'minor' }) => void;

const exposedGc: unknown = (globalThis as { gc?: unknown }).gc;
const scavenge: Collect | null = typeof exposedGc === 'function' ? (exposedGc as Collect) : null;

/** Bytes read from sockets since the last scavenge asked for here. */
let readSinceScavenge = 0;

/** Counts `bytes` read from a socket, and asks for a scavenge every SCAVENGE_EVERY bytes. */
export function countRead(bytes: number): void {
  if (scavenge === null) return;
  readSinceScavenge += bytes;
  if (readSinceScavenge < SCAVENGE_EVERY) return;
  readSinceScavenge = 0;
  scavenge({ type: 'minor' });
}
