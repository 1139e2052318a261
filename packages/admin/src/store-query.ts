import { timeLimit } from '@skynet-mqtt/core';
import { HttpError } from './http-reply.js';

/** How long a scrape, a dashboard poll or an API call waits for the Store (Redis down: its commands wait). */
export const STORE_QUERY_MS = 2000;

/** The Store's answer, or a 503 HttpError once STORE_QUERY_MS have passed without one. */
export function storeQuery<T>(query: Promise<T>, what: string): Promise<T> {
  return timeLimit(query, STORE_QUERY_MS, () => new HttpError(503, `the Store did not answer within ${STORE_QUERY_MS} ms (${what}): is its backend down? see /readyz`));
}
