/**
 * Parsing of stream replies (XREAD, XREVRANGE) read with callBuffer: everything comes back as
 * Buffers, so payloads are never decoded as text on the way.
 *
 * Every entry the Emitter writes has four fields: `n` its number in the stream (1, 2, ... over
 * all instances), `i` the emitting instance's id, `s` its number among that instance's entries,
 * and `m` the encoded message (codec.ts).
 */
export interface StreamEntry {
  id: string;
  n?: number;
  /** Missing when the entry was not written by a RedisEmitter. */
  publisher?: string;
  seq?: number;
  data?: Buffer;
}

const N = 0x6e; // 'n'
const I = 0x69; // 'i'
const S = 0x73; // 's'
const M = 0x6d; // 'm'

function isArray(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

/** `[[id, [field, value, ...]], ...]`, as XRANGE and each stream of XREAD return them. */
function parseEntries(reply: unknown): StreamEntry[] {
  if (!isArray(reply)) return [];
  const entries: StreamEntry[] = [];
  for (const item of reply) {
    if (!isArray(item) || !Buffer.isBuffer(item[0])) continue;
    const entry: StreamEntry = { id: item[0].toString() };
    const fields = isArray(item[1]) ? item[1] : [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i];
      const value = fields[i + 1];
      // Every field name is one letter: matched by its byte, without making a string of it.
      if (!Buffer.isBuffer(name) || !Buffer.isBuffer(value) || name.length !== 1) continue;
      switch (name[0]) {
        case N:
          entry.n = Number(value.toString('latin1'));
          break;
        case I:
          entry.publisher = value.toString();
          break;
        case S:
          entry.seq = Number(value.toString('latin1'));
          break;
        case M:
          entry.data = value;
          break;
      }
    }
    entries.push(entry);
  }
  return entries;
}

/** XREAD on one stream: `[[key, entries]]`, or null when BLOCK timed out. */
export function parseXread(reply: unknown): StreamEntry[] {
  if (!isArray(reply) || !isArray(reply[0])) return [];
  return parseEntries(reply[0][1]);
}
