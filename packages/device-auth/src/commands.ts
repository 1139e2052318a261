import type { Client } from '@skynet-mqtt/core';
import type { DeviceAuthContext } from './context.js';
import type { DeviceIdentity } from './identity.js';
import { admits, isUuid, publicView, RequestError, type WhitelistName } from './records.js';

/** The topics a device may publish to (Skynet's), each with a JSON object body. */
export const COMMAND_TOPICS = ['message', 'messageAck', 'data', 'update', 'whoami', 'resetToken', 'generateAndStoreToken', 'revokeToken'] as const;
export type CommandTopic = (typeof COMMAND_TOPICS)[number];

/** Targets one `message` may name. */
const MAX_TARGETS = 1000;

type Body = Record<string, unknown>;
type Verdict = Buffer | 'ignore';

/** The topic a device broadcasts on. */
export function broadcastTopic(uuid: string): string {
  return `${uuid}_bc`;
}

/**
 * Answers a request on the requester's own topic, to the requesting connection only, at QoS 0:
 * never through the Emitter or the Store, since an answer may carry a new token. The connection
 * must hold a subscription to its own uuid; false when it does not.
 */
function answer(client: Client, uuid: string, topic: string, data: unknown): boolean {
  if (!client.subscriptions[uuid]) return false;
  const payload = Buffer.from(JSON.stringify({ topic, data }));
  // Straight to the connection: the answer must leave before a revocation it causes closes it.
  client.outbound.push({ id: client.server.messageIds.next(), topic: uuid, payload, qos: 0, retain: false }, 0, false);
  return true;
}

function errorAnswer(client: Client, uuid: string, command: string, message: string): void {
  answer(client, uuid, 'error', { command, error: message });
}

/** `body.uuid` (another device, which must admit the requester on `list`) or the requester. */
async function subjectOf(ctx: DeviceAuthContext, requester: string, body: Body, list: WhitelistName): Promise<string> {
  const uuid = body.uuid ?? requester;
  if (uuid === requester) return requester;
  const record = isUuid(uuid) ? await ctx.devices.get(uuid) : null;
  // A device the requester may not touch looks like one that does not exist.
  if (!record || !admits(record, list, requester)) throw new RequestError(`no device ${String(uuid)} that you may act on`, 404);
  return uuid as string;
}

/** `message` and `messageAck`: each target whose `message.from` admits the sender, `*` a broadcast. */
async function deliver(ctx: DeviceAuthContext, client: Client, sender: string, command: CommandTopic, body: Body): Promise<void> {
  const payload = Buffer.from(JSON.stringify({ topic: command, data: body }));
  const named = typeof body.devices === 'string' ? [body.devices] : Array.isArray(body.devices) ? body.devices : null;
  if (!named || named.length > MAX_TARGETS) throw new RequestError(`devices must be a uuid, "*" or a list of at most ${MAX_TARGETS} of them`);
  const targets = new Set<string>();
  let broadcast = false;
  for (const target of named) {
    if (target === '*') broadcast = true;
    else if (typeof target === 'string') targets.add(target);
  }
  const sends: Promise<unknown>[] = [];
  // QoS 1 so that a durable target that is offline gets it on its return (capped by its subscription).
  if (broadcast) sends.push(ctx.server.publish({ topic: broadcastTopic(sender), payload, qos: 1 }));
  await Promise.all(
    [...targets].map(async (target) => {
      const record = isUuid(target) ? await ctx.devices.get(target) : null;
      if (record && admits(record, 'message.from', sender)) {
        sends.push(ctx.server.publish({ topic: target, payload, qos: 1 }));
        return;
      }
      ctx.server.rateLimitedLog.warn('device-auth:message denied', { from: sender, to: target }, 'message not delivered: the target does not admit the sender (message.from)');
      if (ctx.options.replyErrors) errorAnswer(client, sender, command, `not allowed to message ${target}`);
    }),
  );
  await Promise.all(sends);
}

async function request(ctx: DeviceAuthContext, client: Client, requester: string, command: CommandTopic, body: Body): Promise<void> {
  const by = `device:${requester}`;
  const { service } = ctx;
  switch (command) {
    case 'whoami': {
      const uuid = await subjectOf(ctx, requester, body, 'discover.view');
      answer(client, requester, command, publicView(await service.require(uuid)));
      return;
    }
    case 'update': {
      const uuid = await subjectOf(ctx, requester, body, 'configure.update');
      const { uuid: _subject, fromUuid: _from, ...changes } = body;
      const current = await service.require(uuid);
      if (changes.owner !== undefined && requester !== uuid && requester !== current.owner) throw new RequestError('only the device itself or its owner may change its owner', 403);
      answer(client, requester, command, await service.update(uuid, changes, by));
      return;
    }
    case 'resetToken':
    case 'generateAndStoreToken': {
      const uuid = await subjectOf(ctx, requester, body, 'configure.update');
      // The new token can only be handed over on the requester's own topic: no subscription, no token.
      if (!client.subscriptions[requester]) throw new RequestError(`subscribe to ${requester} first: the token is answered there`);
      if (command === 'resetToken') await service.resetToken(uuid, by, (issued) => answer(client, requester, command, issued));
      else answer(client, requester, command, await service.createToken(uuid, body, by));
      return;
    }
    case 'revokeToken': {
      const uuid = await subjectOf(ctx, requester, body, 'configure.update');
      await service.revokeToken(uuid, { token: body.token, tag: body.tag }, by, (revoked) => answer(client, requester, command, { uuid, revoked }));
      return;
    }
    default:
      throw new RequestError(`${command} is not a request`);
  }
}

/**
 * A device's PUBLISH to a command topic, after the body was parsed and `fromUuid` overwritten.
 * Messages (`message`, `messageAck`, `data`) travel on as the rewritten body; requests are
 * answered and go no further (`'ignore'`: acknowledged, not published), so a token in a request
 * or an answer never reaches the Emitter, the Store or another client.
 */
export async function runCommand(ctx: DeviceAuthContext, client: Client, device: DeviceIdentity, command: CommandTopic, body: Body): Promise<Verdict> {
  const rewritten = Buffer.from(JSON.stringify(body));
  try {
    if (command === 'data') return rewritten;
    if (command === 'message' || command === 'messageAck') {
      await deliver(ctx, client, device.uuid, command, body);
      return rewritten;
    }
    await request(ctx, client, device.uuid, command, body);
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    ctx.server.rateLimitedLog.warn(`device-auth:${command} refused`, { uuid: device.uuid, reason: error.message }, 'device request refused');
    errorAnswer(client, device.uuid, command, error.message);
  }
  return 'ignore';
}
