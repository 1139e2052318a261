import type { IncomingMessage, ServerResponse } from 'node:http';
import { topicFilterError, type Message, type Server } from '@skynet-mqtt/core';
import type { Health } from './health.js';
import { HttpError, limitParam, sendJson, urlOf } from './http-reply.js';
import { maskSecrets } from './masking.js';
import { storeQuery } from './store-query.js';
import { brokerInfo, clientDetail, clientSummary, connectedClients, statsSnapshot } from './snapshot.js';

export const API_PREFIX = '/api/v1';
const PAGE = 100;
const MAX_PAGE = 1000;

interface ApiContext {
  server: Server;
  health: Health;
}

function clientFilters(url: URL): ((c: ReturnType<typeof clientSummary>, held: string[]) => boolean)[] {
  const q = url.searchParams;
  const tests: ((c: ReturnType<typeof clientSummary>, held: string[]) => boolean)[] = [];
  const id = q.get('id');
  if (id) tests.push((c) => c.id.includes(id));
  const address = q.get('address');
  if (address) tests.push((c) => c.address.startsWith(address));
  const protocol = q.get('protocol');
  if (protocol) tests.push((c) => String(c.protocolVersion) === protocol);
  const since = q.get('connectedAfter');
  if (since) {
    const time = Date.parse(since);
    if (Number.isNaN(time)) throw new HttpError(400, `connectedAfter must be a date such as 2024-01-31T12:00:00Z, got ${JSON.stringify(since)}`);
    tests.push((c) => Date.parse(c.connectedSince) > time);
  }
  const subscription = q.get('subscription');
  if (subscription) tests.push((_c, held) => held.includes(subscription));
  const minQueued = q.get('minQueued');
  if (minQueued) tests.push((c) => c.queued >= Number(minQueued));
  return tests;
}

/** GET /clients: this instance's clients, filtered, in id order, a page at a time (`after`, `limit`). */
function listClients({ server }: ApiContext, url: URL) {
  const tests = clientFilters(url);
  const after = url.searchParams.get('after');
  const limit = limitParam(url, PAGE, MAX_PAGE);
  const matching = connectedClients(server)
    .map((client) => ({ summary: clientSummary(client), held: Object.keys(client.subscriptions) }))
    .filter(({ summary, held }) => tests.every((t) => t(summary, held)))
    .map(({ summary }) => summary);
  const start = after === null ? 0 : matching.findIndex((c) => c.id > after);
  const page = start < 0 ? [] : matching.slice(start, start + limit);
  const more = start >= 0 && start + limit < matching.length;
  return { brokerId: server.id, scope: 'instance', total: matching.length, clients: page, next: more ? page[page.length - 1]!.id : null };
}

function findClient(server: Server, id: string) {
  const client = server.clients[id];
  if (!client?.connected) throw new HttpError(404, `no client ${JSON.stringify(id)} is connected to this instance (${server.id})`);
  return client;
}

function retainedView(message: Message) {
  const text = message.payload.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(message.payload);
  return { topic: message.topic, qos: message.qos, size: message.payload.length, payload: isText ? text : null, payloadBase64: message.payload.toString('base64') };
}

function filterParam(url: URL): string {
  const filter = url.searchParams.get('filter');
  if (filter === null) throw new HttpError(400, 'filter is required, a topic filter such as sensors/# (URL-encoded: sensors%2F%23)');
  const error = topicFilterError(filter);
  if (error) throw new HttpError(400, `filter ${JSON.stringify(filter)}: ${error}`);
  return filter;
}

async function retainedMatching(server: Server, filter: string): Promise<Message[]> {
  return (await storeQuery(server.store.matchRetained([filter]), 'match retained')).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}

/** GET /retained?filter=: the Store's retained messages matching a filter, in topic order, paged. */
async function listRetained({ server }: ApiContext, url: URL) {
  const filter = filterParam(url);
  const after = url.searchParams.get('after');
  const limit = limitParam(url, PAGE, MAX_PAGE);
  const all = await retainedMatching(server, filter);
  const rest = after === null ? all : all.filter((m) => m.topic > after);
  const page = rest.slice(0, limit);
  return { filter, total: all.length, messages: page.map(retainedView), next: rest.length > limit ? page[page.length - 1]!.topic : null };
}

/** DELETE /retained?filter=: deletes them from the Store without delivering anything to subscribers. */
async function deleteRetained({ server }: ApiContext, url: URL) {
  const filter = filterParam(url);
  const found = await retainedMatching(server, filter);
  await storeQuery(Promise.all(found.map((m) => server.store.storeRetained(server.messageIds.message(m.topic, Buffer.alloc(0), 0, true)))), 'delete retained');
  server.logger.info({ filter, deleted: found.length }, 'admin API: retained messages deleted');
  return { filter, deleted: found.length };
}

async function kick({ server }: ApiContext, id: string) {
  findClient(server, id);
  const disconnected = await server.disconnectClients((client) => client.id === id && client.connected, 'disconnected by an administrator');
  server.logger.info({ clientId: id }, 'admin API: client disconnected');
  return { id, disconnected };
}

/** The answer to an API request, or null when no route matches its path and method. */
function route(ctx: ApiContext, method: string, parts: string[], url: URL): Promise<unknown> | unknown | null {
  const [resource, id, sub] = parts;
  const { server, health } = ctx;
  if (method === 'GET' && resource === 'broker' && !id) {
    return brokerInfo(server, health).then((info) => ({ ...info, configuration: maskSecrets(server.opts), settings: maskSecrets(server.settings) }));
  }
  if (method === 'GET' && resource === 'stats' && !id) return statsSnapshot(server, health);
  if (resource === 'clients') {
    if (!id) return method === 'GET' ? listClients(ctx, url) : null;
    if (method === 'GET' && !sub) return clientDetail(findClient(server, id));
    if (method === 'GET' && sub === 'subscriptions') return clientDetail(findClient(server, id)).subscriptionList;
    if (method === 'DELETE' && !sub) return kick(ctx, id);
    return null;
  }
  if (resource === 'retained' && !id) {
    if (method === 'GET') return listRetained(ctx, url);
    if (method === 'DELETE') return deleteRetained(ctx, url);
  }
  return null;
}

/** Answers a request under API_PREFIX (authenticated by the caller). */
export async function handleApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = urlOf(req);
  const parts = url.pathname.slice(API_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
  const answer = route(ctx, req.method ?? 'GET', parts, url);
  if (answer === null) throw new HttpError(404, `${req.method} ${url.pathname} is not an operation of the admin API (docs/operations.md)`);
  sendJson(res, 200, await answer);
}
