/**
 * The device record and its whitelists (Meshblu 2.0's shape), closed by default: an empty list
 * admits nobody, `{ "uuid": "*" }` admits everyone, a device always passes for itself and its
 * owner is on every list. Skynet's flat lists are read and mapped.
 */

export interface WhitelistEntry {
  uuid: string;
}

export interface Whitelists {
  message: { from: WhitelistEntry[] };
  broadcast: { sent: WhitelistEntry[] };
  configure: { update: WhitelistEntry[] };
  discover: { view: WhitelistEntry[] };
}

/** Who may message me, subscribe to my broadcasts, change me or my tokens, see my record. */
export type WhitelistName = 'message.from' | 'broadcast.sent' | 'configure.update' | 'discover.view';

export interface DeviceRecord {
  uuid: string;
  owner?: string;
  whitelists: Whitelists;
  meta: Record<string, unknown>;
  /** scrypt hash of the root token (see @skynet-mqtt/core hashSecret). */
  rootTokenHash: string;
  createdAt: string;
  updatedAt: string;
}

/** What may be shown of a device: everything but its hash. */
export type PublicDevice = Omit<DeviceRecord, 'rootTokenHash'>;

/** A user's mistake in a request (bad whitelist, unknown device): a 400 or an `error` reply. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Skynet's flat lists and the Meshblu list each maps to. */
const LEGACY: Record<string, WhitelistName> = {
  sendWhitelist: 'message.from',
  receiveWhitelist: 'broadcast.sent',
  configureWhitelist: 'configure.update',
  discoverWhitelist: 'discover.view',
};
export const LEGACY_WHITELIST_KEYS = Object.keys(LEGACY);
const NAMES: WhitelistName[] = ['message.from', 'broadcast.sent', 'configure.update', 'discover.view'];

export function emptyWhitelists(): Whitelists {
  return { message: { from: [] }, broadcast: { sent: [] }, configure: { update: [] }, discover: { view: [] } };
}

function entries(value: unknown, where: string): WhitelistEntry[] {
  if (!Array.isArray(value)) throw new RequestError(`${where} must be a list of { "uuid": ... } (or of uuids)`);
  return value.map((item: unknown) => {
    const uuid = typeof item === 'string' ? item : (item as WhitelistEntry | null)?.uuid;
    if (uuid !== '*' && !isUuid(uuid)) throw new RequestError(`${where} holds ${JSON.stringify(item)}: entries are { "uuid": "<device uuid>" } or { "uuid": "*" }`);
    return { uuid };
  });
}

function list(whitelists: Whitelists, name: WhitelistName): WhitelistEntry[] {
  const [group, verb] = name.split('.') as [keyof Whitelists, string];
  return (whitelists[group] as Record<string, WhitelistEntry[]>)[verb]!;
}

/**
 * Whitelists from a request: the Meshblu shape (lists given replace those of `base`) and/or
 * Skynet's flat lists (`sendWhitelist`, ...) from `legacy`.
 */
export function parseWhitelists(input: unknown, legacy: Record<string, unknown> = {}, base: Whitelists = emptyWhitelists()): Whitelists {
  const result = structuredClone(base);
  if (input !== undefined) {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new RequestError('whitelists must be an object such as { "message": { "from": [{ "uuid": "*" }] } }');
    for (const [group, verbs] of Object.entries(input as Record<string, unknown>)) {
      if (verbs === null || typeof verbs !== 'object' || Array.isArray(verbs)) throw new RequestError(`whitelists.${group} must be an object`);
      for (const [verb, value] of Object.entries(verbs as Record<string, unknown>)) {
        const name = `${group}.${verb}` as WhitelistName;
        if (!NAMES.includes(name)) throw new RequestError(`whitelists.${name} is not a whitelist: use ${NAMES.join(', ')}`);
        list(result, name).splice(0, Infinity, ...entries(value, `whitelists.${name}`));
      }
    }
  }
  for (const [key, name] of Object.entries(LEGACY)) {
    if (legacy[key] !== undefined) list(result, name).splice(0, Infinity, ...entries(legacy[key], key));
  }
  return result;
}

/** Whether `requester` (a device uuid, or null for an anonymous client) is on `device`'s list. */
export function admits(device: DeviceRecord, name: WhitelistName, requester: string | null): boolean {
  if (requester !== null && (requester === device.uuid || requester === device.owner)) return true;
  return list(device.whitelists, name).some((entry) => entry.uuid === '*' || entry.uuid === requester);
}

export function publicView(record: DeviceRecord): PublicDevice {
  const { rootTokenHash: _hidden, ...shown } = record;
  return shown;
}

export function encodeRecord(record: DeviceRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

export function decodeRecord(value: Buffer): DeviceRecord {
  return JSON.parse(value.toString()) as DeviceRecord;
}
