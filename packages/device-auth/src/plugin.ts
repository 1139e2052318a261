import { ConfigurationError, type Client, type Plugin, type Server } from '@skynet-mqtt/core';
import { Audit } from './audit.js';
import type { DeviceAuthContext } from './context.js';
import { CredentialCheck } from './credential-check.js';
import { DeviceCache } from './device-cache.js';
import { DeviceService, type DeviceNotice } from './device-service.js';
import { installHooks } from './hooks.js';
import { deviceAdminHandler, listenAdmin } from './http-api.js';
import { resolveDeviceAuthOptions } from './options.js';
import { applyNotice, ExpiryTimers, NOTICE_KIND } from './revocation.js';

const HOOKS = ['authenticate', 'authorizePublish', 'authorizeSubscribe', 'authorizeForward'] as const;

/** The running plugin: what an embedding application or the CLI may use. */
export interface DeviceAuth extends Plugin {
  service: DeviceService;
  /** The admin HTTP API's port, when `deviceAuth.admin` is set. */
  adminPort?: number;
}

/** The notices of a DeviceService, sent to every instance over the broker's control channel. */
export function noticeSender(send: (kind: string, payload: string) => Promise<void>): (notice: DeviceNotice) => Promise<void> {
  return (notice) => send(NOTICE_KIND, JSON.stringify(notice));
}

/**
 * The plugin's entry point, called by core for the `deviceAuth` option once the Store, the Emitter
 * and the control channel are up and before the listeners open.
 */
export async function createPlugin(server: Server, raw: Record<string, unknown>): Promise<DeviceAuth> {
  const options = resolveDeviceAuthOptions(raw);
  const taken = HOOKS.filter((hook) => server[hook] !== undefined);
  if (taken.length > 0) throw new ConfigurationError(`deviceAuth sets the ${taken.join(', ')} hook(s) itself: remove yours, or turn deviceAuth off`);

  const service = new DeviceService(server.store, options.secret, noticeSender((kind, payload) => server.control.send(kind, payload)));
  const ctx: DeviceAuthContext = {
    server,
    options,
    service,
    check: new CredentialCheck(options, service.registry),
    devices: new DeviceCache(service.registry),
    audit: new Audit(server),
  };
  installHooks(ctx);

  const expiries = new ExpiryTimers();
  const onConnected = (client: Client) => expiries.start(client);
  const onDisconnected = (client: Client) => expiries.stop(client);
  server.on('clientConnected', onConnected);
  server.on('clientDisconnected', onDisconnected);
  const stopNotices = server.control.on(NOTICE_KIND, (payload) => {
    let notice: DeviceNotice;
    try {
      notice = JSON.parse(payload.toString()) as DeviceNotice;
    } catch {
      server.logger.error('device-auth: a malformed notice on the control channel was ignored');
      return;
    }
    applyNotice(ctx, notice).catch((error: unknown) => server.logger.error({ err: error, uuid: notice.uuid }, 'device-auth: could not apply a notice'));
  });

  const checkAdmin = async (name: string, secret: string, address: string) => {
    const verdict = await ctx.check.check(name, secret, address);
    if (verdict.ok && verdict.identity.kind === 'admin') return verdict.identity.name;
    if (!verdict.ok) ctx.audit.failure(name, address, `admin API: ${verdict.reason}`);
    return !verdict.ok && verdict.reason === 'throttled' ? 'throttled' : null;
  };
  // The devices API: on the broker's admin listener (option admin) under /api/v1/devices, and on
  // a listener of its own when deviceAuth.admin asks for one.
  const httpHandler = deviceAdminHandler(service, checkAdmin, server.logger);
  let admin: Awaited<ReturnType<typeof listenAdmin>> | undefined;
  if (options.admin) {
    admin = await listenAdmin(options.admin.port, options.admin.host, httpHandler);
    server.logger.info({ port: admin.port, host: options.admin.host }, 'device admin API listening');
  }

  return {
    service,
    adminPort: admin?.port,
    httpHandler,
    async close() {
      stopNotices();
      server.off('clientConnected', onConnected);
      server.off('clientDisconnected', onDisconnected);
      expiries.clear();
      await admin?.close();
    },
  };
}
