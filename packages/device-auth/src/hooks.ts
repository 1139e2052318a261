import type { Client, Message } from '@skynet-mqtt/core';
import { COMMAND_TOPICS, runCommand, type CommandTopic } from './commands.js';
import type { DeviceAuthContext } from './context.js';
import { identityOf, PENDING } from './identity.js';
import { admits, isUuid } from './records.js';

const BROADCAST_SUFFIX = '_bc';

function parseObject(payload: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(payload.toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The source address without its port (core gives `address:port`): the key failures are counted by. */
function sourceOf(client: Client): string {
  return client.remoteAddress.replace(/:\d+$/, '');
}

/** Whether a client (a device uuid, or null when anonymous) may read `<broadcaster>_bc`. */
async function mayReadBroadcast(ctx: DeviceAuthContext, topic: string, reader: string | null): Promise<boolean> {
  if (!topic.endsWith(BROADCAST_SUFFIX)) return false;
  const broadcaster = topic.slice(0, -BROADCAST_SUFFIX.length);
  if (!isUuid(broadcaster)) return false;
  const record = await ctx.devices.get(broadcaster);
  return record !== null && admits(record, 'broadcast.sent', reader);
}

/**
 * The four hooks device security installs on the server:
 * - authenticate: admins by name and secret, devices by uuid and token, anonymous only if allowed;
 * - authorizePublish: devices only on the command topics with a JSON object, `fromUuid` set to
 *   the authenticated uuid; anonymous clients never; admins anywhere;
 * - authorizeSubscribe: a device its own uuid, and `<uuid>_bc` where that device's
 *   `broadcast.sent` admits it; wildcards and everything else are for admins;
 * - authorizeForward: the same rules again at each delivery, so a whitelist change applies to
 *   existing subscriptions (and to subscriptions restored with a durable session) at once.
 */
export function installHooks(ctx: DeviceAuthContext): void {
  const { server, options, check, audit } = ctx;

  server.authenticate = async (client: Client, username: string | undefined, password: Buffer | undefined): Promise<boolean> => {
    if (username === undefined && password === undefined && options.allowAnonymous) {
      client.user = { kind: 'anonymous' };
      return true;
    }
    const source = sourceOf(client);
    if (username === undefined || password === undefined) {
      audit.failure(username, source, 'missing credentials');
      return false;
    }
    // Marked while it is checked: a revocation of this device arriving meanwhile closes it too.
    if (isUuid(username)) client.user = { kind: 'device', uuid: username, credential: PENDING };
    const verdict = await check.check(username, password.toString(), source);
    if (!verdict.ok) {
      client.user = undefined;
      audit.failure(username, source, verdict.reason);
      return false;
    }
    client.user = verdict.identity;
    return true;
  };

  server.authorizePublish = async (client: Client, topic: string, payload: Buffer): Promise<boolean | Buffer | 'ignore'> => {
    const identity = identityOf(client);
    if (identity?.kind === 'admin') return true;
    if (identity?.kind !== 'device') {
      server.rateLimitedLog.warn('device-auth:anonymous publish', { clientId: client.id, topic }, 'anonymous clients are read-only: publish refused, closing');
      return false;
    }
    if (!(COMMAND_TOPICS as readonly string[]).includes(topic)) {
      server.rateLimitedLog.warn('device-auth:topic', { uuid: identity.uuid, topic }, `devices publish only to ${COMMAND_TOPICS.join(', ')}: publish refused, closing`);
      return false;
    }
    // Also a will published after its device was unregistered: a device that is gone says nothing.
    if (!(await ctx.devices.get(identity.uuid))) return false;
    const body = parseObject(payload);
    if (!body) {
      server.rateLimitedLog.warn('device-auth:body', { uuid: identity.uuid, topic }, 'a device command must be a JSON object: publish refused, closing');
      return false;
    }
    body.fromUuid = identity.uuid; // whatever the device wrote there
    return runCommand(ctx, client, identity, topic as CommandTopic, body);
  };

  server.authorizeSubscribe = async (client: Client, topic: string): Promise<boolean> => {
    const identity = identityOf(client);
    if (identity?.kind === 'admin') return true;
    const reader = identity?.kind === 'device' ? identity.uuid : null;
    const allowed = (reader !== null && topic === reader) || (await mayReadBroadcast(ctx, topic, reader));
    if (!allowed) server.rateLimitedLog.warn('device-auth:subscribe', { uuid: reader, topic }, 'subscription refused (SUBACK 0x80): devices subscribe to their own uuid and to broadcasts that admit them');
    return allowed;
  };

  server.authorizeForward = async (client: Client, message: Message): Promise<boolean> => {
    const identity = identityOf(client);
    if (identity?.kind === 'admin') return true;
    const reader = identity?.kind === 'device' ? identity.uuid : null;
    if (reader !== null && message.topic === reader) return stillAdmitted(ctx, reader, message);
    return mayReadBroadcast(ctx, message.topic, reader);
  };
}

/** A message on a device's own topic from another device: its `message.from` must still admit it. */
async function stillAdmitted(ctx: DeviceAuthContext, uuid: string, message: Message): Promise<boolean> {
  const envelope = parseObject(message.payload);
  const data = envelope?.data as Record<string, unknown> | undefined;
  const from = data?.fromUuid;
  // Answers of the broker and what admins publish carry no sender to check.
  if ((envelope?.topic !== 'message' && envelope?.topic !== 'messageAck') || typeof from !== 'string') return true;
  const record = await ctx.devices.get(uuid);
  return record !== null && admits(record, 'message.from', from);
}

