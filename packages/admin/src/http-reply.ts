import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error that is the client's to fix, answered with its status and message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/** The request's path and query. */
export function urlOf(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://admin');
}

/** A positive integer query parameter, bounded; `fallback` when absent. */
export function limitParam(url: URL, fallback: number, max: number): number {
  const text = url.searchParams.get('limit');
  if (text === null) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new HttpError(400, `limit must be an integer >= 1, got ${JSON.stringify(text)}`);
  return Math.min(value, max);
}
