import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigurationError, type ServerOptions } from '@skynet-mqtt/core';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

async function loadJson(path: string, shown: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read the config file ${shown}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigurationError(`the config file ${shown} is not valid JSON: ${(error as Error).message}`);
  }
}

async function loadModule(path: string, shown: string): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    // An absolute file URL: a bare relative specifier would resolve against this package, not the cwd.
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(path)) {
      throw new ConfigurationError(`cannot read the config file ${shown}: no such file`);
    }
    throw new ConfigurationError(`the config file ${shown} failed to load: ${(error as Error).message}`);
  }
  // `export default {...}` and CommonJS `module.exports = {...}` both arrive as `default`.
  if (!('default' in module)) throw new ConfigurationError(`the config file ${shown} has no default export (use export default { ... } or module.exports = { ... })`);
  return module.default;
}

/**
 * Reads `-c/--config FILE`: JSON, or a JS module exporting the Server options (Mosca required()
 * the file, so both kinds work). The path is resolved against `cwd`.
 */
export async function loadConfigFile(file: string, cwd: string): Promise<ServerOptions> {
  const path = resolve(cwd, file);
  const extension = extname(path).toLowerCase();
  let config: unknown;
  if (extension === '.json') config = await loadJson(path, file);
  else if (['.js', '.mjs', '.cjs'].includes(extension)) config = await loadModule(path, file);
  else throw new ConfigurationError(`the config file ${file} must end in .json, .js, .mjs or .cjs`);
  if (!isPlainObject(config)) throw new ConfigurationError(`the config file ${file} must contain an object of Server options`);
  return config as ServerOptions;
}
