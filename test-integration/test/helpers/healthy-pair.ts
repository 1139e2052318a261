/**
 * A well-behaved publisher and subscriber (mqtt.js) exchanging numbered QoS 1 messages for as
 * long as an attack runs, one at a time (the next once the previous is acknowledged): every
 * message must arrive, once and in order, whatever other connections do.
 */
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { sleep, waitFor, within } from './wait.js';

export class HealthyPair {
  private sent = 0;
  private readonly received: number[] = [];
  private running = true;
  private publishing: Promise<void> = Promise.resolve();
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
    // Failures show as missing messages or a stalled publisher, which stillReceiving and finish assert.
    for (const client of [subscriber, publisher]) client.on('error', () => undefined);
    const pair = new HealthyPair(publisher, subscriber, `healthy/${run}`);
    subscriber.on('message', (topic, payload) => {
      if (topic === pair.topic) pair.received.push(Number(payload.toString()));
    });
    await subscriber.subscribeAsync(pair.topic, { qos: 1 });
    pair.publishing = pair.publish();
    return pair;
  }

  private async publish(): Promise<void> {
    try {
      while (this.running) {
        await this.publisher.publishAsync(this.topic, String(this.sent), { qos: 1 });
        this.sent++;
        await sleep(5);
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

  /**
   * Stops publishing, checks that every message arrived, once, in order (waiting up to
   * `timeoutMs` for the last ones), and disconnects both; returns how many were published.
   */
  async finish(timeoutMs = 20_000): Promise<number> {
    this.running = false;
    try {
      await within(this.publishing, timeoutMs, `the healthy publisher stalled after ${this.sent} acknowledged messages`);
      assert.equal(this.error, null, 'the healthy publisher kept publishing');
      await waitFor(() => this.received.length >= this.sent, timeoutMs, () => `the healthy subscriber has ${this.received.length} of ${this.sent} messages`);
      assert.deepEqual(this.received, Array.from({ length: this.sent }, (_, i) => i), 'every message once, in order');
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
