import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { sendText } from './http-reply.js';

/** The dashboard's files, shipped as they are (no build step): the page holds no data, the API does. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

const folder = new URL('../../dashboard/', import.meta.url);

/** Serves a dashboard file; false when the path is not one. */
export async function serveDashboard(path: string, res: ServerResponse): Promise<boolean> {
  const entry = FILES[path];
  if (!entry) return false;
  sendText(res, 200, entry.type, await readFile(new URL(entry.file, folder)));
  return true;
}
