import { ConfigurationError, secretHashError } from '@skynet-mqtt/core';
import { isUuid } from './records.js';

/** An identity for bridges and provisioning systems: MQTT (username = name) and the HTTP API. */
export interface AdminIdentity {
  name: string;
  /** `skynet-mqtt device admin-secret NAME` prints a secret and this hash of it. */
  secretHash: string;
}

/** Settings of `deviceAuth` (config file) once checked; see docs/security.md. */
export interface DeviceAuthOptions {
  /** Keys the HMAC of session tokens: `deviceAuth.secret` or SKYNET_MQTT_SECRET, never a default. */
  secret: string;
  /** Clients without credentials may connect, read-only (broadcasts open to everyone). */
  allowAnonymous: boolean;
  admins: AdminIdentity[];
  /** The admin HTTP API's listener; off when unset. */
  admin?: { port: number; host: string };
  /** Send the sender an `error` reply for each target its `message` could not reach. */
  replyErrors: boolean;
  /** Milliseconds a verified credential is remembered (keyed by its HMAC). */
  cacheTtl: number;
  /** Failed attempts allowed per uuid and per source address within `failureWindow`. */
  maxFailures: number;
  failureWindow: number;
}

const KEYS = ['secret', 'allowAnonymous', 'admins', 'admin', 'replyErrors', 'cacheTtl', 'maxFailures', 'failureWindow'];
export const MIN_SECRET_LENGTH = 32;

function fail(message: string): never {
  throw new ConfigurationError(`deviceAuth.${message}`);
}

function integer(raw: Record<string, unknown>, key: string, fallback: number, min: number): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(`${key} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return value;
}

function flag(raw: Record<string, unknown>, key: string): boolean {
  const value = raw[key];
  if (value !== undefined && typeof value !== 'boolean') fail(`${key} must be true or false, got ${JSON.stringify(value)}`);
  return value === true;
}

function admins(value: unknown): AdminIdentity[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail('admins must be an array of { "name": ..., "secretHash": ... }');
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const { name, secretHash } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[A-Za-z0-9._@-]{1,64}$/.test(name) || isUuid(name)) {
      fail(`admins[${i}].name must be 1 to 64 letters, digits, '.', '_', '@' or '-', and not a UUID (devices use those)`);
    }
    if (seen.has(name)) fail(`admins[${i}].name ${name} is given twice`);
    seen.add(name);
    const error = secretHashError(secretHash);
    if (error) fail(`admins[${i}].secretHash ${error}: make one with skynet-mqtt device admin-secret ${name}`);
    return { name, secretHash: secretHash as string };
  });
}

function listener(value: unknown): DeviceAuthOptions['admin'] {
  if (value === undefined) return undefined;
  const { port, host = '127.0.0.1', ...rest } = (value ?? {}) as Record<string, unknown>;
  if (Object.keys(rest).length > 0) fail(`admin has unknown keys ${Object.keys(rest).join(', ')}: it takes port and host`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) fail(`admin.port must be a port number from 0 to 65535, got ${JSON.stringify(port)}`);
  if (typeof host !== 'string') fail('admin.host must be an address such as "127.0.0.1"');
  return { port, host };
}

/** The secret alone, for tools that only need it (the CLI's device commands). */
export function resolveSecret(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): string {
  const secret = raw.secret ?? env.SKYNET_MQTT_SECRET;
  if (secret === undefined || secret === '') {
    fail('secret is not set: set deviceAuth.secret in the config or the SKYNET_MQTT_SECRET environment variable to a random string of at least 32 characters (openssl rand -base64 48)');
  }
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) fail(`secret must be a string of at least ${MIN_SECRET_LENGTH} characters (openssl rand -base64 48)`);
  return secret;
}

/** Checks the `deviceAuth` option; each error names the key and what to write instead. */
export function resolveDeviceAuthOptions(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): DeviceAuthOptions {
  const unknown = Object.keys(raw).filter((key) => !KEYS.includes(key));
  if (unknown.length > 0) fail(`${unknown[0]} is not a deviceAuth setting: use ${KEYS.join(', ')}`);
  return {
    secret: resolveSecret(raw, env),
    allowAnonymous: flag(raw, 'allowAnonymous'),
    admins: admins(raw.admins),
    admin: listener(raw.admin),
    replyErrors: flag(raw, 'replyErrors'),
    cacheTtl: integer(raw, 'cacheTtl', 10_000, 0),
    maxFailures: integer(raw, 'maxFailures', 10, 1),
    failureWindow: integer(raw, 'failureWindow', 60_000, 1),
  };
}
