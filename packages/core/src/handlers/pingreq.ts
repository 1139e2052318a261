import type { Client } from '../connection/client.js';

/** [MQTT-3.12.4-1] PINGREQ is answered with PINGRESP. */
export function handlePingreq(client: Client): void {
  client.write({ cmd: 'pingresp' });
  client.server.emit('pingreq', client);
}
