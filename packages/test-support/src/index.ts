/**
 * Test helpers shared by the packages' test files (never by their sources): free ports, tracked
 * child processes, the real `skynet-mqtt` command, private redis-server and mosquitto processes, temp
 * dirs, and MQTT packets built byte by byte (`wire`).
 */
export { acceptsConnections, freePort } from './free-port.js';
export { killAll, killPid, spawnTracked, waitForLine, type Exit, type SpawnOptions, type TrackedProcess, type WaitForLineOptions } from './processes.js';
export { bannerPort, cliBin, runCli, spawnCli, startBroker, type CliBroker, type CliOptions, type CliProcess, type StartBrokerOptions } from './cli-broker.js';
export {
  killRedisServers,
  REDIS_CLI,
  REDIS_SERVER,
  startPrivateRedis,
  startPrivateRedisCluster,
  type PrivateRedis,
  type PrivateRedisCluster,
  type PrivateRedisOptions,
} from './private-redis.js';
export { TempDirs } from './temp-dirs.js';
export { AMQP_URL, closeConnectionNamed, deleteExchanges, uniqueExchange } from './amqp.js';
export { clearRetained, killMosquittos, MOSQUITTO, MQTT_BRIDGE_URL, startPrivateMosquitto, type PrivateMosquitto, type PrivateMosquittoOptions } from './mosquitto.js';
export { mongoPlan, servicePlan, type ServicePlan } from './services.js';
export * as wire from './mqtt-bytes.js';
