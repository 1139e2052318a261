import type { Client } from '../connection/client.js';

/** [MQTT-3.14.4-3] DISCONNECT discards the will; [MQTT-3.14.4-1] the server closes the connection. */
export function handleDisconnect(client: Client): Promise<void> {
  client.will = null;
  return client.close('disconnect request');
}
