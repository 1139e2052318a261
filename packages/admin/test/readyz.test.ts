/**
 * /readyz follows the backends: a PRIVATE redis-server (never the shared one) is killed under a
 * broker using it as Store and Emitter, and restarted on the same port.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { killRedisServers, startPrivateRedis } from '@skynet-mqtt/test-support';
import { parseMetrics, startAdminBroker, valueOf, waitFor } from './helpers.js';

after(() => killRedisServers());

test('/readyz fails within seconds of Redis going away and recovers with it; backend_up follows', async (t) => {
  let redis = await startPrivateRedis();
  const redisOptions = { host: '127.0.0.1', port: redis.port, prefix: `readyz-${process.pid}:` };
  const b = await startAdminBroker(t, { backend: { type: 'redis', ...redisOptions }, persistence: { factory: 'redis', ...redisOptions } });
  const ready = async () => (await fetch(`${b.admin}/readyz`)).status;
  assert.equal(await ready(), 200);
  const body = (await (await fetch(`${b.admin}/readyz`)).json()) as { backends: { kind: string; up: boolean; latency: number }[] };
  assert.deepEqual(body.backends.map((x) => [x.kind, x.up]), [['RedisStore', true], ['RedisEmitter', true]]);
  assert.ok(body.backends.every((x) => x.latency > 0), 'round trips measured');

  await redis.kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor(async () => (await ready()) === 503, '/readyz to fail', 10_000);
  const detectedAfter = Date.now() - killedAt;
  assert.ok(detectedAfter < 5_000, `noticed within a few seconds (${detectedAfter} ms)`);
  const down = (await (await fetch(`${b.admin}/readyz`)).json()) as { status: string; backends: { up: boolean; error?: string }[] };
  assert.equal(down.status, 'not ready');
  assert.ok(down.backends.some((x) => !x.up && x.error), 'the reason is given');
  const metrics = parseMetrics(await (await fetch(`${b.admin}/metrics`)).text());
  assert.equal(valueOf(metrics, 'skynet_mqtt_backend_up', { backend: 'store' }), 0);
  assert.equal((await fetch(`${b.admin}/healthz`)).status, 200, 'the process is alive all the same');

  redis = await redis.restart();
  await waitFor(async () => (await ready()) === 200, '/readyz to recover', 15_000);
  const back = parseMetrics(await (await fetch(`${b.admin}/metrics`)).text());
  assert.equal(valueOf(back, 'skynet_mqtt_backend_up', { backend: 'emitter' }), 1);
});
