import { ConfigurationError, secretHashError } from '@skynet-mqtt/core';

/** The `admin` option once checked (docs/operations.md). */
export interface AdminOptions {
  port: number;
  /** Loopback unless told otherwise: the listener shows client ids and can disconnect clients. */
  host: string;
  /** Hash (`skynet-mqtt admin-token`) of the bearer token the REST API and the dashboard need; unset, they are off. */
  secretHash?: string;
}

export const DEFAULT_ADMIN_PORT = 8088;
const KEYS = ['port', 'host', 'secretHash'];

function fail(message: string): never {
  throw new ConfigurationError(`option admin.${message}`);
}

/**
 * Checks the `admin` option; a ConfigurationError names the key and what to write. The hash may
 * come from SKYNET_MQTT_ADMIN_SECRET_HASH instead (containers, a config under version control).
 */
export function resolveAdminOptions(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): AdminOptions {
  if ('secret' in raw) {
    fail('secret: the configuration holds a hash of the admin token, never the token: run skynet-mqtt admin-token and put what it prints as admin.secretHash');
  }
  const unknown = Object.keys(raw).filter((key) => !KEYS.includes(key));
  if (unknown.length > 0) fail(`${unknown[0]} is unknown: admin takes ${KEYS.join(', ')}`);
  const { port = DEFAULT_ADMIN_PORT, host = '127.0.0.1', secretHash = env.SKYNET_MQTT_ADMIN_SECRET_HASH || undefined } = raw;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) fail(`port must be a port number from 0 to 65535, got ${JSON.stringify(port)}`);
  if (typeof host !== 'string' || host === '') fail(`host must be an address such as "127.0.0.1", got ${JSON.stringify(host)}`);
  if (secretHash !== undefined) {
    const error = secretHashError(secretHash);
    if (error) fail(`secretHash (or SKYNET_MQTT_ADMIN_SECRET_HASH) ${error}: run skynet-mqtt admin-token to make a token and its hash`);
  }
  return { port, host, secretHash: secretHash as string | undefined };
}
