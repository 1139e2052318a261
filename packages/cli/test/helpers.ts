/**
 * MQTT client helpers for the CLI's tests; running the bin itself (spawnCli, runCli, killAll,
 * freePort, bannerPort) comes from @skynet-mqtt/test-support.
 */
import mqtt from 'mqtt';

export async function connect(port: number, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/** The next message on `topic`. */
export function nextMessage(client: mqtt.MqttClient, topic: string, timeoutMs = 5000): Promise<{ payload: string; qos: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic} after ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (received: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
      if (received !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ payload: payload.toString(), qos: packet.qos });
    };
    client.on('message', onMessage);
  });
}
