export { createPlugin, adminOf } from './plugin.js';
export type { AdminPlugin } from './plugin.js';
export { resolveAdminOptions, DEFAULT_ADMIN_PORT } from './options.js';
export type { AdminOptions } from './options.js';
export { API_PREFIX } from './api.js';
export { maskSecrets } from './masking.js';
