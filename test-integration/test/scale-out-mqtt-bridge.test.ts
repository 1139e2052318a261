/**
 * Scale-out over the MQTT bridge: the three-instance suite (helpers/cluster-suite.ts) with the
 * shared Mosquitto (`MQTT_BRIDGE_URL`, default mqtt://127.0.0.1:1883) as the parent of every
 * instance, under a topic prefix unique to the run, and the shared Redis as their common Store
 * (the bridge is an Emitter only). Retained messages left on the parent and Redis keys are
 * removed at the end.
 */
import { clearRetained, MQTT_BRIDGE_URL } from '@skynet-mqtt/test-support';
import { threeInstanceSuite } from './helpers/cluster-suite.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js';

const deployments: string[] = [];

threeInstanceSuite('the MQTT bridge (Store: Redis)', {
  async deploy(count) {
    const prefix = uniquePrefix('bridge');
    deployments.push(prefix);
    const topicPrefix = `skynet-test/${prefix.replaceAll(':', '-').replace(/-$/, '')}`;
    return Array.from({ length: count }, () => ({
      backend: { type: 'mqtt', url: MQTT_BRIDGE_URL, prefix: topicPrefix },
      persistence: { factory: 'redis', url: REDIS_URL, prefix },
    }));
  },
  async cleanUp() {
    for (const prefix of deployments) {
      await clearRetained(MQTT_BRIDGE_URL, `skynet-test/${prefix.replaceAll(':', '-').replace(/-$/, '')}`);
      await deletePrefix(REDIS_URL, prefix);
    }
  },
});
