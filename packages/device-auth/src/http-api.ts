import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { DeviceService } from './device-service.js';
import { RequestError } from './records.js';

/** Checks an admin's name and secret; resolves to the admin's name, 'throttled', or null. */
export type AdminCheck = (name: string, secret: string, address: string) => Promise<string | 'throttled' | null>;

export const API_PREFIX = '/api/v1/devices';
const MAX_BODY = 64 * 1024;

interface Reply {
  status: number;
  body: unknown;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function credentialsOf(req: http.IncomingMessage): { name: string; secret: string } | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString();
  const colon = decoded.indexOf(':');
  return colon > 0 ? { name: decoded.slice(0, colon), secret: decoded.slice(colon + 1) } : null;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `the body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString());
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

/** The route of a request under API_PREFIX, as [uuid?, ...rest]. */
function route(service: DeviceService, method: string, parts: string[], url: URL, body: () => Promise<unknown>, by: string): Promise<Reply> | null {
  const [uuid, sub, action] = parts;
  const ok = async (status: number, value: Promise<unknown>): Promise<Reply> => ({ status, body: await value });
  if (uuid === undefined) {
    if (method === 'GET') return ok(200, service.list(url.searchParams.get('after') ?? undefined, Math.max(1, Math.min(Number(url.searchParams.get('limit') ?? 100) || 100, 1000))));
    if (method === 'POST') return ok(201, body().then((b) => service.register(b, by)));
    return null;
  }
  if (sub === undefined) {
    if (method === 'GET') return ok(200, service.show(uuid));
    if (method === 'PATCH') return ok(200, body().then((b) => service.update(uuid, b, by)));
    if (method === 'DELETE') return ok(200, service.unregister(uuid, by).then(() => ({ uuid, unregistered: true })));
    return null;
  }
  if (sub === 'token' && action === undefined && method === 'POST') return ok(200, service.resetToken(uuid, by));
  if (sub === 'tokens' && action === undefined && method === 'POST') return ok(201, body().then((b) => service.createToken(uuid, b, by)));
  if (sub === 'tokens' && action === 'revoke' && method === 'POST') return ok(200, body().then(async (b) => ({ uuid, revoked: await service.revokeToken(uuid, b, by) })));
  return null;
}

/**
 * The devices admin API as a request handler for any `http.Server` (its own listener, or an admin
 * listener shared with other endpoints): it answers requests under `/api/v1/devices` and resolves
 * false for any other path, so the caller can route those elsewhere. Every request needs an admin
 * identity (HTTP Basic: name and secret). Bodies are never logged: they may hold tokens.
 */
export function deviceAdminHandler(service: DeviceService, checkAdmin: AdminCheck, logger: Logger): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) return false;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      const credentials = credentialsOf(req);
      const admin = credentials ? await checkAdmin(credentials.name, credentials.secret, req.socket.remoteAddress ?? 'unknown') : null;
      if (admin === 'throttled') throw new HttpError(429, 'too many failed attempts: try again later');
      if (admin === null) {
        send(401, { error: 'an admin identity is needed (HTTP Basic: name and secret)' }, { 'www-authenticate': 'Basic realm="skynet-mqtt"' });
        return true;
      }
      const parts = url.pathname.slice(API_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
      const reply = route(service, req.method ?? 'GET', parts, url, () => readJson(req), `admin:${admin}`);
      if (!reply) throw new HttpError(405, `${req.method} ${url.pathname} is not an operation of this API`);
      const { status, body } = await reply;
      send(status, body);
    } catch (error) {
      if (error instanceof HttpError || error instanceof RequestError) send(error.status, { error: error.message });
      else {
        logger.error({ err: error, method: req.method, path: url.pathname }, 'device admin API request failed');
        send(500, { error: 'internal error' });
      }
    }
    return true;
  };
}

/** The API on its own listener (`deviceAuth.admin: { port, host }`). */
export async function listenAdmin(port: number, host: string, handler: ReturnType<typeof deviceAdminHandler>): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (handled) return;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `no such endpoint: the devices API is under ${API_PREFIX}` }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
