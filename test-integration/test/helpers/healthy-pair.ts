/**
 * A well-behaved publisher and subscriber (mqtt.js) exchanging numbered QoS 1 messages for as
 * long as an attack runs: every message must arrive, in order, whatever other connections do.
 */
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { sleep, waitFor } from './wait.js';

export class HealthyPair {
  private sent = 0;
  private readonly received: string[] = [];
  private running = true;
  private streaming: Promise<void> = Promise.resolve();
  private error: unknown = null;

  private constructor(
    private readonly publisher: mqtt.MqttClient,
    private readonly subscriber: mqtt.MqttClient,
    private readonly topic: string,
  ) {}

  /** Connects both to `url`, subscribes, and starts publishing on a topic of their own. */
  static async start(url: string): Promise<HealthyPair> {
    const run = `${process.pid}-${Math.random().toString(16).slice(2)}`;
    const options = { reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 30 };
    const subscriber = await mqtt.connectAsync(url, { ...options, clientId: `healthy-sub-${run}` });
    const publisher = await mqtt.connectAsync(url, { ...options, clientId: `healthy-pub-${run}` });
    const pair = new HealthyPair(publisher, subscriber, `healthy/${run}`);
    subscriber.on('message', (topic, payload) => {
      if (topic === pair.topic) pair.received.push(payload.toString());
    });
    await subscriber.subscribeAsync(pair.topic, { qos: 1 });
    pair.streaming = pair.stream();
    return pair;
  }

  private async stream(): Promise<void> {
    try {
      while (this.running) {
        await this.publisher.publishAsync(this.topic, String(this.sent), { qos: 1 });
        this.sent++;
        await sleep(10);
      }
    } catch (error) {
      this.error = error;
    }
  }

  /** Waits until a message published after this call has arrived. */
  async stillReceiving(timeoutMs = 15_000): Promise<void> {
    const target = this.sent + 1;
    await waitFor(() => this.received.length >= target || this.error !== null, timeoutMs, () => `the healthy subscriber has ${this.received.length} of ${target} messages`);
    assert.equal(this.error, null, 'the healthy publisher keeps publishing');
  }

  /** Stops publishing and checks that every message arrived, once, in order; then disconnects both. */
  async finish(): Promise<number> {
    this.running = false;
    await this.streaming;
    try {
      assert.equal(this.error, null, 'the healthy publisher kept publishing');
      await waitFor(() => this.received.length >= this.sent, 15_000, () => `the healthy subscriber has ${this.received.length} of ${this.sent} messages`);
      assert.deepEqual(this.received, Array.from({ length: this.sent }, (_, i) => String(i)));
      return this.sent;
    } finally {
      this.close();
    }
  }

  close(): void {
    this.running = false;
    this.publisher.end(true);
    this.subscriber.end(true);
  }
}
