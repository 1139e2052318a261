/** The latest value of each `$SYS/<broker id>/...` statistic, read with an mqtt.js subscriber. */
import mqtt from 'mqtt';
import { waitFor } from './wait.js';

export class SysWatcher {
  private readonly values = new Map<string, string>();

  private constructor(private readonly client: mqtt.MqttClient) {
    client.on('message', (topic, payload) => {
      // $SYS/<broker id>/<statistic>
      this.values.set(topic.split('/').slice(2).join('/'), payload.toString());
    });
  }

  /** Subscribes to the statistics named (MQTT filters below `$SYS/<id>/`, such as `clients/closed/+`). */
  static async start(url: string, statistics: string[]): Promise<SysWatcher> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `sys-watcher-${process.pid}-${Math.random().toString(16).slice(2)}` });
    const watcher = new SysWatcher(client);
    await client.subscribeAsync(statistics.map((s) => `$SYS/+/${s}`));
    return watcher;
  }

  /** The statistic's latest value as a number, or NaN before it was published. */
  number(statistic: string): number {
    const value = this.values.get(statistic);
    return value === undefined ? NaN : Number(value);
  }

  /** Waits until `predicate` holds for the statistic's latest value. */
  async until(statistic: string, predicate: (value: number) => boolean, timeoutMs = 20_000): Promise<number> {
    await waitFor(() => predicate(this.number(statistic)), timeoutMs, () => `$SYS ${statistic} is ${this.values.get(statistic)}`);
    return this.number(statistic);
  }

  close(): void {
    this.client.end(true);
  }
}
