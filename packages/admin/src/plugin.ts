import { unref, type Plugin, type Server } from '@skynet-mqtt/core';
import { AdminAuth } from './auth.js';
import { Health } from './health.js';
import { listenAdmin } from './listener.js';
import { brokerMetrics } from './metrics.js';
import { resolveAdminOptions } from './options.js';

/** How often the latency sampler is armed: at most this many timed messages a second is 1000 / it. */
const LATENCY_SAMPLE_MS = 100;

/** The running admin plugin. */
export interface AdminPlugin extends Plugin {
  readonly kind: 'admin';
  /** The admin listener's address (port 0 in the options picks a free one). */
  readonly port: number;
  readonly host: string;
}

/**
 * The plugin's entry point, called by core for the `admin` option before the MQTT listeners open:
 * /readyz answers 503 until they are.
 */
export async function createPlugin(server: Server, raw: Record<string, unknown>): Promise<AdminPlugin> {
  const options = resolveAdminOptions(raw);
  const health = new Health(server);
  const auth = new AdminAuth(options.secretHash);
  const metrics = brokerMetrics(server, health);
  const listener = await listenAdmin({ server, health, metrics, auth }, options.port, options.host);
  const sampler = setInterval(() => (server.stats.latency.armed = true), LATENCY_SAMPLE_MS);
  unref(sampler);
  const url = `http://${listener.host.includes(':') ? `[${listener.host}]` : listener.host}:${listener.port}`;
  server.logger.info({ url, api: auth.enabled }, 'admin listener open: /metrics, /healthz, /readyz, the dashboard at /');
  if (!auth.enabled) server.logger.warn('admin listener: no admin.secretHash, so the REST API and the dashboard are off (probes and /metrics work)');
  return {
    kind: 'admin',
    port: listener.port,
    host: listener.host,
    async close() {
      clearInterval(sampler);
      await listener.close();
    },
  };
}

/** The admin plugin of a server, when its options enabled one. */
export function adminOf(server: Server): AdminPlugin | undefined {
  return server.installedPlugins.find((plugin): plugin is AdminPlugin => (plugin as Partial<AdminPlugin>).kind === 'admin');
}
