import { ConfigurationError, ControlChannel, createEmitter, createStore, type ServerOptions } from '@skynet-mqtt/core';
import { API_PREFIX, DeviceService, noticeSender, resolveSecret, type IssuedToken, type PublicDevice, type ShownDevice } from '@skynet-mqtt/device-auth';
import { pino } from 'pino';

/** The registry operations the `device` commands need, wherever the registry is. */
export interface DeviceOps {
  register(body: Record<string, unknown>): Promise<IssuedToken>;
  list(): Promise<PublicDevice[]>;
  show(uuid: string): Promise<ShownDevice>;
  update(uuid: string, body: Record<string, unknown>): Promise<PublicDevice>;
  resetToken(uuid: string): Promise<IssuedToken>;
  createToken(uuid: string, body: Record<string, unknown>): Promise<IssuedToken>;
  revokeToken(uuid: string, body: Record<string, unknown>): Promise<number>;
  unregister(uuid: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Stores only the broker process can hold: the memory one, and LevelDB (its lock). */
const EMBEDDED = ['memory', 'level', 'levelup', 'leveldb'];

export function embeddedStoreName(options: ServerOptions): string | null {
  const persistence = options.persistence as Record<string, unknown> | undefined;
  const factory = persistence?.factory;
  if (persistence === undefined || factory === undefined) return 'memory';
  return typeof factory === 'string' && EMBEDDED.includes(factory.toLowerCase()) ? factory.toLowerCase() : null;
}

/**
 * On a shared Store (Redis, MongoDB): the registry is read and written there, and the notices go to
 * every running broker over the control channel on the configured Emitter.
 */
export async function directOps(options: ServerOptions): Promise<DeviceOps> {
  const secret = resolveSecret(options.deviceAuth ?? {});
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const store = await createStore(options);
  const emitter = await createEmitter(options).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const control = new ControlChannel(emitter, `cli-${process.pid}`, logger);
  const service = new DeviceService(store, secret, noticeSender((kind, payload) => control.send(kind, payload)));
  const by = 'cli';
  return {
    register: (body) => service.register(body, by),
    async list() {
      const all: PublicDevice[] = [];
      for (let page = await service.list(undefined, 500); ; page = await service.list(all[all.length - 1]!.uuid, 500)) {
        all.push(...page);
        if (page.length < 500) return all;
      }
    },
    show: (uuid) => service.show(uuid),
    update: (uuid, body) => service.update(uuid, body, by),
    resetToken: (uuid) => service.resetToken(uuid, by),
    createToken: (uuid, body) => service.createToken(uuid, body, by),
    revokeToken: (uuid, body) => service.revokeToken(uuid, body, by),
    unregister: (uuid) => service.unregister(uuid, by),
    async close() {
      await emitter.close();
      await store.close();
    },
  };
}

/** Through a running broker's admin API (deviceAuth.admin), as the admin SKYNET_MQTT_ADMIN names. */
export function httpOps(options: ServerOptions, env: NodeJS.ProcessEnv): { ops: DeviceOps; url: string } {
  const admin = (options.deviceAuth as { admin?: { port?: number; host?: string } } | undefined)?.admin;
  if (admin?.port === undefined) {
    throw new ConfigurationError('this store is held by the running broker: set deviceAuth.admin { port, host } in the config so that device commands can reach its admin API');
  }
  const credentials = env.SKYNET_MQTT_ADMIN;
  if (!credentials || !credentials.includes(':')) throw new ConfigurationError('set SKYNET_MQTT_ADMIN=name:secret (an admin of deviceAuth.admins) to reach the admin API');
  const host = admin.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${admin.port}${API_PREFIX}`;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new Error(`cannot reach the admin API at ${url} (is the broker running?): ${(error as Error).message}`);
    }
    const reply = (await response.json().catch(() => ({}))) as { error?: string };
    if (!response.ok) throw new Error(`${reply.error ?? `HTTP ${response.status}`}`);
    return reply as T;
  };
  const ops: DeviceOps = {
    register: (body) => call('POST', '', body),
    async list() {
      const all: PublicDevice[] = [];
      for (;;) {
        const after = all.length > 0 ? `&after=${encodeURIComponent(all[all.length - 1]!.uuid)}` : '';
        const page = await call<PublicDevice[]>('GET', `?limit=1000${after}`);
        all.push(...page);
        if (page.length < 1000) return all;
      }
    },
    show: (uuid) => call('GET', `/${encodeURIComponent(uuid)}`),
    update: (uuid, body) => call('PATCH', `/${encodeURIComponent(uuid)}`, body),
    resetToken: (uuid) => call('POST', `/${encodeURIComponent(uuid)}/token`),
    createToken: (uuid, body) => call('POST', `/${encodeURIComponent(uuid)}/tokens`, body),
    revokeToken: async (uuid, body) => (await call<{ revoked: number }>('POST', `/${encodeURIComponent(uuid)}/tokens/revoke`, body)).revoked,
    unregister: async (uuid) => (await call<{ unregistered: boolean }>('DELETE', `/${encodeURIComponent(uuid)}`)).unregistered,
    close: async () => undefined,
  };
  return { ops, url };
}
