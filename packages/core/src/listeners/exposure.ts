import type { Server } from '../server.js';

function isLoopback(host: string): boolean {
  return host === '::1' || host === 'localhost' || /^(::ffff:)?127\./.test(host);
}

/**
 * One warning at start when anyone who can reach a listener may connect without credentials: no
 * `authenticate` hook (looked for once the 'ready' handlers ran, where Mosca users set it) and a
 * listener on an address other than loopback.
 */
export function warnIfOpenToAnonymous(server: Server): void {
  if (server.authenticate || server.closed) return;
  const exposed = server.address().filter((a) => !isLoopback(a.host));
  if (exposed.length === 0) return;
  server.logger.warn(
    { listeners: exposed },
    `anonymous clients are accepted on ${exposed.map((a) => `${a.host}:${a.port}`).join(', ')}, which is not only this machine: ` +
      'anyone who can reach it may publish and subscribe. Turn authentication on (set server.authenticate), or listen on 127.0.0.1 (option host)',
  );
}
