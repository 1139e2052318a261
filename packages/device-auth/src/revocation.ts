import { unref, type Client } from '@skynet-mqtt/core';
import type { DeviceAuthContext } from './context.js';
import type { DeviceNotice } from './device-service.js';
import { deviceOf, PENDING, ROOT } from './identity.js';

/** The control channel kind device notices travel on. */
export const NOTICE_KIND = 'device-auth';

/** Whether a connection used a credential the notice takes away (a pending check always counts). */
function affected(client: Client, notice: DeviceNotice): boolean {
  const device = deviceOf(client);
  if (!device || device.uuid !== notice.uuid) return false;
  if (device.credential === PENDING) return notice.action === 'reset' || notice.action === 'revoked' || notice.action === 'unregistered';
  switch (notice.action) {
    case 'unregistered':
      return true;
    case 'reset':
      return device.credential === ROOT;
    case 'revoked':
      return notice.tokens?.includes(device.credential) ?? false;
    default:
      return false;
  }
}

/**
 * Applies a notice from any instance (this one included): cached records and verifications of the
 * device are forgotten, then the connections here that used a revoked credential are closed.
 */
export async function applyNotice(ctx: DeviceAuthContext, notice: DeviceNotice): Promise<void> {
  ctx.check.forget(notice.uuid);
  ctx.devices.forget(notice.uuid);
  const reason = notice.action === 'unregistered' ? 'device unregistered' : 'token revoked';
  const closed = await ctx.server.disconnectClients((client) => affected(client, notice), reason);
  ctx.audit.change(notice, closed);
}

/**
 * Session tokens with an expiry: a connection that used one is closed when it expires. The
 * timers live as long as their connections.
 */
export class ExpiryTimers {
  private readonly timers = new Map<Client, NodeJS.Timeout>();

  start(client: Client): void {
    const expiresAt = deviceOf(client)?.expiresAt;
    if (expiresAt === undefined) return;
    // setTimeout holds at most 2^31 - 1 ms: a later expiry is re-armed when that runs out.
    const delay = Math.min(Math.max(0, expiresAt - Date.now()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.timers.delete(client);
      if (Date.now() >= expiresAt) void client.close('token expired');
      else this.start(client);
    }, delay);
    unref(timer);
    this.timers.set(client, timer);
  }

  stop(client: Client): void {
    clearTimeout(this.timers.get(client));
    this.timers.delete(client);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
