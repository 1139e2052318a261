import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type http from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError, type InterfaceOptions } from '../options.js';

/** Where Mosca's `bundle` option served mqtt.js's browser build. */
export const BUNDLE_PATH = '/mqtt.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

/** Mosca's answer, word for word, to a request for a file it does not serve. */
const NOT_FOUND = 'Not Found';

function reply(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}

/** Streams a file, or answers 404 when it is not a readable file. */
async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) return sendFile(req, res, join(path, 'index.html'));
    if (!info.isFile()) return reply(res, 404, NOT_FOUND);
    size = info.size;
  } catch {
    return reply(res, 404, NOT_FOUND);
  }
  res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', 'content-length': size });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(path)
    .on('error', () => res.destroy())
    .pipe(res);
}

/** The browser build of the installed mqtt package; a ConfigurationError when it is not installed. */
function bundleFile(): string {
  try {
    return fileURLToPath(import.meta.resolve('mqtt/dist/mqtt.min'));
  } catch {
    throw new ConfigurationError('option bundle serves the browser build of the mqtt package, which is not installed: run npm install mqtt');
  }
}

/** Checks at start that the folder to serve exists, so a typo stops the broker with a clear message. */
async function staticRoot(folder: string): Promise<string> {
  const root = resolve(folder);
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) throw new ConfigurationError(`option static: ${folder} is not a folder: give the path of the folder to serve`);
  return root;
}

/**
 * The plain HTTP side of a WebSocket listener (Mosca's `http: { bundle, static }`): mqtt.js's
 * browser build at `/mqtt.js` with `bundle`, the files of a folder with `static` (index.html for
 * a folder, nothing outside it) and Mosca's `404 Not Found` for any other path; 426 on a listener
 * that serves no files, to say what the port is for.
 */
export async function httpFileServer(iface: InterfaceOptions): Promise<http.RequestListener> {
  const bundle = iface.bundle ? bundleFile() : null;
  const root = iface.static !== undefined ? await staticRoot(iface.static) : null;
  return (req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://listener').pathname);
    } catch {
      return reply(res, 400, 'malformed path');
    }
    if ((bundle || root) && req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'only GET and HEAD are served here');
    if (bundle && path === BUNDLE_PATH) return void sendFile(req, res, bundle);
    if (root) {
      const file = resolve(root, `.${path}`);
      if (file !== root && !file.startsWith(root + sep)) return reply(res, 404, NOT_FOUND);
      return void sendFile(req, res, file);
    }
    if (bundle) return reply(res, 404, NOT_FOUND);
    reply(res, 426, 'this port speaks MQTT over WebSocket');
  };
}
