import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, type Server } from '@skynet-mqtt/core';
import type { Registry } from 'prom-client';
import { API_PREFIX, handleApi } from './api.js';
import type { AdminAuth } from './auth.js';
import { serveDashboard } from './dashboard.js';
import type { Health } from './health.js';
import { HttpError, sendJson, sendText, urlOf } from './http-reply.js';

export interface AdminParts {
  server: Server;
  health: Health;
  metrics: Registry;
  auth: AdminAuth;
}

const AUTH_ERRORS = {
  missing: [401, 'an admin credential is needed: Authorization: Bearer <token>'],
  denied: [401, 'the admin token is wrong'],
  throttled: [429, 'too many failed attempts from this address: try again in a minute'],
  off: [403, 'the admin API is off: set admin.secretHash (skynet-mqtt admin-token prints a token and its hash)'],
} as const;

/** Requests a plugin answers on this listener (the devices API, ...), each with its own authentication. */
async function pluginAnswered(server: Server, req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
  for (const plugin of server.installedPlugins) {
    if (plugin.httpHandler && (await plugin.httpHandler(req, res))) return true;
  }
  return false;
}

async function respond(parts: AdminParts, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { server, health, metrics, auth } = parts;
  const url = urlOf(req);
  const path = url.pathname;
  const method = req.method ?? 'GET';
  // Probes and metrics are open: load balancers and Prometheus scrape them without credentials.
  if (method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (method === 'GET' && path === '/readyz') {
    const readiness = await health.readiness();
    return sendJson(res, readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'not ready', ...readiness });
  }
  if (method === 'GET' && path === '/metrics') return sendText(res, 200, metrics.contentType, await metrics.metrics());
  if (method === 'GET' && (await serveDashboard(path, res))) return;
  if (await pluginAnswered(server, req, res)) return;
  if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) throw new HttpError(404, `no such endpoint: ${path}`);
  const verdict = await auth.check(req);
  if (verdict !== 'ok') {
    const [status, message] = AUTH_ERRORS[verdict];
    throw new HttpError(status, message, status === 401 ? { 'www-authenticate': 'Bearer realm="skynet-mqtt"' } : {});
  }
  await handleApi({ server, health }, req, res);
}

/** The admin HTTP listener: probes, metrics, the dashboard, the REST API and plugins' APIs. */
export async function listenAdmin(parts: AdminParts, port: number, host: string): Promise<{ port: number; host: string; close(): Promise<void> }> {
  const logger = parts.server.logger;
  const listener = http.createServer((req, res) => {
    respond(parts, req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof HttpError) return sendJson(res, error.status, { error: error.message }, error.headers);
      logger.error({ err: error, method: req.method, path: req.url }, 'admin listener: request failed');
      sendJson(res, 500, { error: 'internal error (logged)' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new ConfigurationError(`admin port ${port} on ${host} is already in use: give admin.port (--admin-port) another port`, port));
      else reject(error);
    });
    listener.listen(port, host, () => resolve());
  });
  const address = listener.address() as AddressInfo;
  return {
    port: address.port,
    host: address.address,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        listener.closeAllConnections();
      }),
  };
}
