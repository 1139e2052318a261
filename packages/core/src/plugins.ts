import type { IncomingMessage, ServerResponse } from 'node:http';
import { importOptionalPackage } from './backends.js';
import type { Server } from './server.js';
import { ConfigurationError, type ServerOptions } from './options.js';

/** What a plugin package's `createPlugin` returns: something the server closes when it stops. */
export interface Plugin {
  /** Stops what the plugin started (its own listeners, timers); called before the Store closes. */
  close(): Promise<void>;
  /**
   * Requests this plugin answers on the admin HTTP listener (`@skynet-mqtt/admin`), with its own
   * authentication: resolves true when it answered, false for a path it does not own.
   */
  httpHandler?: (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;
}

/**
 * A plugin package's entry point. It runs once the Store, the Emitter and the control channel are
 * up and before any listener opens, so hooks it installs apply to the very first connection.
 */
export type PluginFactory = (server: Server, options: Record<string, unknown>) => Plugin | Promise<Plugin>;

/** Server options that enable a plugin, and the package that implements it. */
export const PLUGIN_PACKAGES = {
  deviceAuth: '@skynet-mqtt/device-auth',
  admin: '@skynet-mqtt/admin',
} as const satisfies Record<string, string>;

export type PluginOption = keyof typeof PLUGIN_PACKAGES;

/** Starts the plugins the options enable (an object under the plugin's key), in table order. */
export async function startPlugins(server: Server, options: ServerOptions): Promise<Plugin[]> {
  const started: Plugin[] = [];
  try {
    for (const [option, pkg] of Object.entries(PLUGIN_PACKAGES)) {
      const config: unknown = options[option as PluginOption];
      if (config === undefined || config === false) continue;
      if (config === null || typeof config !== 'object' || Array.isArray(config)) {
        throw new ConfigurationError(`option ${option} must be an object of its settings (docs of ${pkg}), got ${JSON.stringify(config)}`);
      }
      const module = await importOptionalPackage<{ createPlugin?: PluginFactory }>(pkg, `option ${option}`, 'is set and');
      if (typeof module.createPlugin !== 'function') throw new ConfigurationError(`${pkg} exports no createPlugin: install a version made for this broker`);
      started.push(await module.createPlugin(server, config as Record<string, unknown>));
    }
  } catch (error) {
    await closePlugins(started);
    throw error;
  }
  return started;
}

/** Closes plugins in the reverse order of their start. */
export async function closePlugins(plugins: Plugin[]): Promise<void> {
  for (const plugin of plugins.splice(0).reverse()) await plugin.close();
}
