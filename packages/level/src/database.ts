import { ClassicLevel } from 'classic-level';
import { nameKey } from './keys.js';

/** The database as the store uses it: UTF-8 keys (see keys.ts), binary values (see codec.ts). */
export type Database = ClassicLevel<string, Buffer>;

export type Operation = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

const FORMAT_KEY = nameKey('meta', 'format');
/** 2: messages carry their id (codec.ts) and the `queued` space exists. */
const FORMAT = '2';
/** Layouts this version reads as they are; opening one stamps it with FORMAT (older code cannot read 2). */
const READABLE = ['1', FORMAT];

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Opens (creating if missing) the database at `path`. LevelDB locks the directory, so a second
 * broker on the same path fails here with an error that says so instead of LevelDB's IO text.
 */
export async function openDatabase(path: string): Promise<Database> {
  const db = new ClassicLevel<string, Buffer>(path, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if (errorCode(cause) === 'LEVEL_LOCKED') {
      throw new Error(
        `persistence.path ${path} is in use by another broker (LevelDB holds a lock on it): stop that broker or give this one another path`,
        { cause: error },
      );
    }
    throw new Error(`cannot open the level store at ${path}: ${String((cause as Error | undefined)?.message ?? error)}`, { cause: error });
  }
  try {
    await checkFormat(db, path);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

/** Stamps a new database with the layout version and refuses one written in another layout. */
async function checkFormat(db: Database, path: string): Promise<void> {
  const stored = await db.get(FORMAT_KEY);
  if (stored === undefined) {
    // Any key at all without the stamp means this directory holds some other LevelDB database.
    for await (const key of db.keys({ limit: 1 })) {
      throw new Error(`persistence.path ${path} holds a LevelDB database that is not a Skynet MQTT store (first key ${JSON.stringify(key)})`);
    }
    await db.put(FORMAT_KEY, Buffer.from(FORMAT), { sync: true });
    return;
  }
  if (!READABLE.includes(stored.toString())) {
    throw new Error(`persistence.path ${path} holds a store of layout version ${stored.toString()}; this version of @skynet-mqtt/level reads versions ${READABLE.join(' and ')}`);
  }
  if (stored.toString() !== FORMAT) await db.put(FORMAT_KEY, Buffer.from(FORMAT), { sync: true });
}
