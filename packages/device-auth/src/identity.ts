import type { Client } from '@skynet-mqtt/core';

/**
 * Who a connection is, set on `client.user` by the authenticate hook. A device's `credential` is
 * `root`, the HMAC of the session token it used, or `pending` while it is being checked (a
 * revocation arriving then refuses it too).
 */
export type Identity =
  | { kind: 'device'; uuid: string; credential: string; expiresAt?: number }
  | { kind: 'admin'; name: string }
  | { kind: 'anonymous' };

export type DeviceIdentity = Extract<Identity, { kind: 'device' }>;

export const ROOT = 'root';
export const PENDING = 'pending';

export function identityOf(client: Client): Identity | undefined {
  const user = client.user as Identity | undefined;
  return user && typeof user === 'object' && 'kind' in user ? user : undefined;
}

export function deviceOf(client: Client): DeviceIdentity | undefined {
  const identity = identityOf(client);
  return identity?.kind === 'device' ? identity : undefined;
}

/** How an identity is named in logs and audit events. */
export function actorOf(identity: Identity | undefined): string {
  if (!identity) return 'unknown';
  if (identity.kind === 'device') return `device:${identity.uuid}`;
  if (identity.kind === 'admin') return `admin:${identity.name}`;
  return 'anonymous';
}
