/**
 * `@skynet-mqtt/device-auth`: Skynet's device security as a plugin of the broker. Core loads it for
 * the `deviceAuth` option (or `--device-auth`); see docs/security.md.
 */
export { createPlugin, noticeSender, type DeviceAuth } from './plugin.js';
export { DeviceService, type DeviceNotice, type IssuedToken, type ShownDevice } from './device-service.js';
export { DeviceRegistry, type SessionToken } from './registry.js';
export { resolveDeviceAuthOptions, resolveSecret, type DeviceAuthOptions, type AdminIdentity } from './options.js';
export { deviceAdminHandler, listenAdmin, API_PREFIX, type AdminCheck } from './http-api.js';
export { COMMAND_TOPICS, broadcastTopic } from './commands.js';
export { NOTICE_KIND } from './revocation.js';
export { isUuid, RequestError, type DeviceRecord, type PublicDevice, type Whitelists, type WhitelistName } from './records.js';
export type { Identity } from './identity.js';
