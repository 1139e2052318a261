import { randomUUID } from 'node:crypto';
import { hashSecret } from '@skynet-mqtt/core';
import { DeviceRegistry, type SessionToken } from './registry.js';
import { isUuid, LEGACY_WHITELIST_KEYS, parseWhitelists, publicView, RequestError, type DeviceRecord, type PublicDevice } from './records.js';
import { digest, newToken, parseDuration } from './tokens.js';

/**
 * What every broker instance is told after a change, on the control channel: it forgets what it
 * cached of the device and, for the revoking actions, closes the connections that used the
 * credentials named. No token travels in a notice, only HMACs.
 */
export interface DeviceNotice {
  action: 'registered' | 'updated' | 'token-created' | 'reset' | 'revoked' | 'unregistered';
  uuid: string;
  /** revoked: the HMACs of the session tokens revoked. */
  tokens?: string[];
  tag?: string;
  /** Who did it: `cli`, `admin:<name>`, `device:<uuid>`. */
  by: string;
}

/** A token shown once, to whoever asked for it. */
export interface IssuedToken {
  uuid: string;
  token: string;
  tag?: string;
  expiresAt?: number;
}

export interface ShownDevice extends PublicDevice {
  sessionTokens: SessionToken[];
}

type Body = Record<string, unknown>;

function object(input: unknown, what: string): Body {
  if (input === undefined) return {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new RequestError(`${what} must be a JSON object`);
  return input as Body;
}

const PROFILE_KEYS = ['owner', 'whitelists', 'meta', ...LEGACY_WHITELIST_KEYS];

/** A registration or an update names only what a device has: a misspelt field is an error, not ignored. */
function profile(input: unknown, what: string): Body {
  const body = object(input, what);
  const unknown = Object.keys(body).find((key) => !PROFILE_KEYS.includes(key));
  if (unknown !== undefined) throw new RequestError(`${what} has an unknown field ${JSON.stringify(unknown)}: use ${PROFILE_KEYS.join(', ')}`);
  return body;
}

function optionalOwner(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!isUuid(value)) throw new RequestError('owner must be a device uuid');
  return value;
}

function meta(value: unknown, base: Record<string, unknown> = {}): Record<string, unknown> {
  if (value === undefined) return base;
  return { ...object(value, 'meta') };
}

function legacyLists(body: Body): Body {
  return Object.fromEntries(LEGACY_WHITELIST_KEYS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
}

/**
 * The registry's operations, one home for the CLI, the HTTP API and the devices' own MQTT
 * requests: each writes the Store, then notifies every broker instance (`notify`).
 */
export class DeviceService {
  readonly registry: DeviceRegistry;

  constructor(
    store: ConstructorParameters<typeof DeviceRegistry>[0],
    private readonly secret: string,
    private readonly notify: (notice: DeviceNotice) => Promise<void>,
  ) {
    this.registry = new DeviceRegistry(store);
  }

  /** The record, or a 404 RequestError. */
  async require(uuid: string): Promise<DeviceRecord> {
    const record = isUuid(uuid) ? await this.registry.get(uuid) : null;
    if (!record) throw new RequestError(`no device ${uuid}`, 404);
    return record;
  }

  async register(input: unknown, by: string): Promise<IssuedToken> {
    const body = profile(input, 'the registration');
    const token = newToken();
    const now = new Date().toISOString();
    const record: DeviceRecord = {
      uuid: randomUUID(),
      owner: optionalOwner(body.owner),
      whitelists: parseWhitelists(body.whitelists, legacyLists(body)),
      meta: meta(body.meta),
      rootTokenHash: await hashSecret(token),
      createdAt: now,
      updatedAt: now,
    };
    await this.registry.put(record);
    await this.notify({ action: 'registered', uuid: record.uuid, by });
    return { uuid: record.uuid, token };
  }

  async list(after?: string, limit?: number): Promise<PublicDevice[]> {
    return (await this.registry.list(after, limit)).map(publicView);
  }

  async show(uuid: string): Promise<ShownDevice> {
    const record = await this.require(uuid);
    const sessionTokens = (await this.registry.tokens(uuid)).map(({ digest: _hmac, ...token }) => token);
    return { ...publicView(record), sessionTokens };
  }

  /** Replaces the whitelists given (Meshblu or Skynet lists), meta, owner. */
  async update(uuid: string, input: unknown, by: string): Promise<PublicDevice> {
    const body = profile(input, 'the update');
    const record = await this.require(uuid);
    const updated: DeviceRecord = {
      ...record,
      owner: body.owner === undefined ? record.owner : optionalOwner(body.owner),
      whitelists: parseWhitelists(body.whitelists, legacyLists(body), record.whitelists),
      meta: meta(body.meta, record.meta),
      updatedAt: new Date().toISOString(),
    };
    await this.registry.put(updated);
    await this.notify({ action: 'updated', uuid, by });
    return publicView(updated);
  }

  /**
   * A new root token; connections that used the old one are closed everywhere. `handOver` runs
   * before the notice, so a device resetting its own token is answered before it is cut off.
   */
  async resetToken(uuid: string, by: string, handOver?: (issued: IssuedToken) => void): Promise<IssuedToken> {
    const record = await this.require(uuid);
    const issued = { uuid, token: newToken() };
    await this.registry.put({ ...record, rootTokenHash: await hashSecret(issued.token), updatedAt: new Date().toISOString() });
    handOver?.(issued);
    await this.notify({ action: 'reset', uuid, by });
    return issued;
  }

  /** A new session token, with an optional tag and lifetime (`expiresIn`: '1h', ms) or `expiresAt`. */
  async createToken(uuid: string, input: unknown, by: string): Promise<IssuedToken> {
    const body = object(input, 'the token request');
    await this.require(uuid);
    if (body.tag !== undefined && (typeof body.tag !== 'string' || body.tag.length === 0 || body.tag.length > 128)) throw new RequestError('tag must be a string of 1 to 128 characters');
    let expiresAt: number | undefined;
    if (body.expiresIn !== undefined) {
      const ms = parseDuration(body.expiresIn);
      if (ms === null) throw new RequestError('expiresIn must be a duration such as 90s, 15m, 1h, 30d or a number of milliseconds');
      expiresAt = Date.now() + ms;
    } else if (body.expiresAt !== undefined) {
      if (typeof body.expiresAt !== 'number' || body.expiresAt <= Date.now()) throw new RequestError('expiresAt must be a future time in milliseconds since the epoch');
      expiresAt = body.expiresAt;
    }
    const token = newToken();
    const tag = body.tag as string | undefined;
    await this.registry.putToken(uuid, digest(this.secret, token), { tag, expiresAt, createdAt: new Date().toISOString() });
    await this.notify({ action: 'token-created', uuid, tag, by });
    return { uuid, token, tag, expiresAt };
  }

  /** Revokes one session token (`token`) or every one with a tag (`tag`); resolves to how many. `handOver` as in resetToken. */
  async revokeToken(uuid: string, input: unknown, by: string, handOver?: (revoked: number) => void): Promise<number> {
    const body = object(input, 'the revocation');
    await this.require(uuid);
    let digests: string[];
    if (typeof body.token === 'string' && body.tag === undefined) digests = [digest(this.secret, body.token)];
    else if (typeof body.tag === 'string' && body.token === undefined) digests = (await this.registry.tokens(uuid)).filter((t) => t.tag === body.tag).map((t) => t.digest);
    else throw new RequestError('give either token or tag');
    const revoked = await this.registry.deleteTokens(uuid, digests);
    handOver?.(revoked);
    if (revoked > 0) await this.notify({ action: 'revoked', uuid, tokens: digests, tag: body.tag as string | undefined, by });
    return revoked;
  }

  /** Forgets the device and its tokens; its connections are closed everywhere. */
  async unregister(uuid: string, by: string): Promise<boolean> {
    if (!isUuid(uuid) || !(await this.registry.delete(uuid))) throw new RequestError(`no device ${uuid}`, 404);
    await this.notify({ action: 'unregistered', uuid, by });
    return true;
  }
}
