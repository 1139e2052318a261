import { adminOf } from '@skynet-mqtt/admin';
import { VERSION, type Server, type ServerAddress } from '@skynet-mqtt/core';

/** What the CLI prints once a broker listens. */

const SCHEMES: Record<ServerAddress['type'], string> = { mqtt: 'mqtt', mqtts: 'mqtts', http: 'ws', https: 'wss', custom: 'custom' };

function url({ type, host, port }: ServerAddress): string {
  return `${SCHEMES[type]}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** `skynet-mqtt <version> listening on <every listener>`: the banner's start, shared by the workers. */
export function listeningLine(server: Server): string {
  const addresses = server.address();
  return `skynet-mqtt ${VERSION} listening on ${addresses.length > 0 ? addresses.map(url).join(', ') : 'no listener'}`;
}

/** The admin listener's URL, or null without one. */
export function adminUrl(server: Server): string | null {
  const admin = adminOf(server);
  return admin ? url({ type: 'http', host: admin.host, port: admin.port }).replace('ws:', 'http:') : null;
}

/** The one line printed on start: every listener and the broker id. */
export function bannerOf(server: Server): string {
  const admin = adminUrl(server);
  return `${listeningLine(server)} (broker id ${server.id})${admin ? `, admin on ${admin}` : ''}`;
}
