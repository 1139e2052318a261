import type { Server } from '@skynet-mqtt/core';
import type { Audit } from './audit.js';
import type { CredentialCheck } from './credential-check.js';
import type { DeviceCache } from './device-cache.js';
import type { DeviceService } from './device-service.js';
import type { DeviceAuthOptions } from './options.js';

/** What the hooks and the command handlers of one broker share. */
export interface DeviceAuthContext {
  server: Server;
  options: DeviceAuthOptions;
  service: DeviceService;
  check: CredentialCheck;
  devices: DeviceCache;
  audit: Audit;
}
