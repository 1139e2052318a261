import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { minimatch } from 'minimatch';
import type { Client } from '../connection/client.js';
import { ConfigurationError } from '../options.js';
import { hashSecret, verifySecret } from './secret-hash.js';

/**
 * One user of a credentials file. Mosca wrote `salt` and `hash` (pbkdf2); users added here get a
 * scrypt `hash` (see secret-hash.ts) and no `salt`. The globs are minimatch patterns on the topic
 * (`*` one level, `**` any number), where `%u` stands for the username and `%c` for the client id.
 */
export interface CredentialsEntry {
  salt?: string;
  hash: string;
  authorizePublish?: string;
  authorizeSubscribe?: string;
}

export type Credentials = Record<string, CredentialsEntry>;

type Callback<T> = (error: Error | null, result?: T) => void;

/** Mosca's glob when a user has none: every topic. */
const EVERYTHING = '**';

/** pbkdf2-password's parameters, as Mosca used them: base64 salt, SHA-1, 10,000 rounds, 128 bytes. */
function moscaHash(password: string, salt: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, Buffer.from(salt, 'base64'), 10_000, 128, 'sha1', (error, key) => (error ? reject(error) : resolve(key)));
  });
}

async function passwordMatches(entry: CredentialsEntry, password: string): Promise<boolean> {
  if (entry.salt === undefined) return verifySecret(password, entry.hash);
  const expected = Buffer.from(entry.hash, 'base64');
  const actual = await moscaHash(password, entry.salt);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * `%u` and `%c` replaced by the username and client id, escaped so that they match only
 * themselves. A value holding `/` (or empty) would change which levels the pattern covers: the
 * pattern then matches nothing.
 */
function expand(pattern: string, username: string, clientId: string): string | null {
  let refused = false;
  const expanded = pattern.replace(/%([uc])/g, (_, which: string) => {
    const value = which === 'u' ? username : clientId;
    if (value === '' || value.includes('/')) refused = true;
    return minimatch.escape(value);
  });
  return refused ? null : expanded;
}

function topicAllowed(pattern: string | undefined, topic: string, client: Client): boolean {
  const glob = expand(pattern ?? EVERYTHING, String(client.user), client.id);
  return glob !== null && minimatch(topic, glob);
}

function isEntry(value: unknown): value is CredentialsEntry {
  const entry = value as CredentialsEntry | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.hash === 'string' &&
    ['salt', 'authorizePublish', 'authorizeSubscribe'].every((key) => entry[key as keyof CredentialsEntry] === undefined || typeof entry[key as keyof CredentialsEntry] === 'string')
  );
}

/**
 * Mosca's `Authorizer`: users with hashed passwords and topic globs, from a JSON credentials
 * file, as the `authenticate`, `authorizePublish` and `authorizeSubscribe` hooks of a Server.
 * Reads Mosca's files (pbkdf2) as they are; new passwords get a scrypt hash.
 */
export class Authorizer {
  users: Credentials;

  constructor(users: Credentials = {}) {
    this.users = users;
  }

  /** Checks a credentials file's content; the error names the file and the user at fault. */
  static parse(text: string, source = 'the credentials file'): Credentials {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new ConfigurationError(`${source} is not valid JSON: ${(error as Error).message}`);
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new ConfigurationError(`${source} must hold an object of users ({ "user": { "hash": ..., ... } })`);
    }
    const users: Credentials = Object.create(null);
    for (const [user, entry] of Object.entries(data)) {
      if (!isEntry(entry)) {
        throw new ConfigurationError(`${source}: user ${JSON.stringify(user)} needs a string "hash" (and optional string salt, authorizePublish, authorizeSubscribe): re-add it with skynet-mqtt adduser`);
      }
      users[user] = entry;
    }
    return users;
  }

  /** Reads a credentials file; a missing file is an empty one (adduser creates it). */
  static async load(file: string, { mustExist = true } = {}): Promise<Authorizer> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !mustExist) return new Authorizer();
      throw new ConfigurationError(`cannot read the credentials file ${file}: ${(error as Error).message}`);
    }
    return new Authorizer(Authorizer.parse(text, `the credentials file ${file}`));
  }

  /** Writes the users as Mosca did (2-space JSON), readable by its owner only, replaced atomically. */
  async save(file: string): Promise<void> {
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(this.users, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, file);
  }

  /** Adds or replaces a user (Mosca's signature, callback optional). */
  async addUser(user: string, password: string, authorizePublish = EVERYTHING, authorizeSubscribe = EVERYTHING, callback?: Callback<void>): Promise<void> {
    try {
      if (!user) throw new Error('a user name is needed');
      this.users[user] = { hash: await hashSecret(password), authorizePublish, authorizeSubscribe };
      callback?.(null);
    } catch (error) {
      if (!callback) throw error;
      callback(error as Error);
    }
  }

  /** Removes a user; resolves to whether it existed. */
  async rmUser(user: string, callback?: Callback<boolean>): Promise<boolean> {
    const existed = Object.hasOwn(this.users, user);
    delete this.users[user];
    callback?.(null, existed);
    return existed;
  }

  /** The `authenticate` hook: sets `client.user` to the username on success (Mosca's convention). */
  readonly authenticate = async (client: Client, username: string | undefined, password: Buffer | undefined): Promise<boolean> => {
    const entry = username === undefined ? undefined : this.entry(username);
    if (!entry || password === undefined) return false;
    const ok = await passwordMatches(entry, password.toString());
    if (ok) client.user = username;
    return ok;
  };

  readonly authorizePublish = async (client: Client, topic: string): Promise<boolean> => {
    const entry = this.entry(String(client.user));
    return entry !== undefined && topicAllowed(entry.authorizePublish, topic, client);
  };

  readonly authorizeSubscribe = async (client: Client, topic: string): Promise<boolean> => {
    const entry = this.entry(String(client.user));
    return entry !== undefined && topicAllowed(entry.authorizeSubscribe, topic, client);
  };

  /** A user removed by a reload since it connected has no entry: it may no longer do anything. */
  private entry(user: string): CredentialsEntry | undefined {
    return Object.hasOwn(this.users, user) ? this.users[user] : undefined;
  }
}
