import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './args.js';

/** One `skynet-mqtt device ...` operation, as parsed. */
export type DeviceAction =
  | { op: 'register'; body: Record<string, unknown> }
  | { op: 'list' }
  | { op: 'show'; uuid: string }
  | { op: 'update'; uuid: string; body: Record<string, unknown> }
  | { op: 'reset-token'; uuid: string }
  | { op: 'token-create'; uuid: string; body: Record<string, unknown> }
  | { op: 'token-revoke'; uuid: string; body: Record<string, unknown> }
  | { op: 'unregister'; uuid: string }
  | { op: 'admin-secret'; name: string };

export interface DeviceCommand {
  action: DeviceAction | { op: 'help' };
  config?: string;
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  owner: { type: 'string' },
  whitelists: { type: 'string' },
  meta: { type: 'string' },
  tag: { type: 'string' },
  expires: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const DEVICE_HELP = `Usage: skynet-mqtt device COMMAND [-c CONFIG] ...

Acts on the device registry of the brokers that run with CONFIG (the same file): directly on a
shared Store (Redis, MongoDB), or through the running broker's admin API for the memory and
LevelDB stores (deviceAuth.admin in CONFIG; SKYNET_MQTT_ADMIN=name:secret).

  register [--owner UUID] [--whitelists JSON] [--meta JSON]   prints {"uuid","token"}
  list                                                        one JSON line per device
  show UUID
  update UUID [--whitelists JSON] [--meta JSON] [--owner UUID]
  reset-token UUID                                            prints {"uuid","token"}
  token create UUID [--tag T] [--expires 1h]                  prints {"uuid","token",...}
  token revoke UUID (TOKEN | --tag T)                         prints {"uuid","revoked"}
  unregister UUID
  admin-secret NAME        prints a new admin secret and the secretHash for deviceAuth.admins

A token is printed once, when it is made: it is stored only as a hash. Docs: docs/security.md
`;

function json(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--${flag} must be JSON, e.g. --${flag} '{"message":{"from":[{"uuid":"*"}]}}'`);
  }
}

function only<T>(positionals: string[], count: number, usage: string, make: (args: string[]) => T): T {
  if (positionals.length !== count) throw new UsageError(`usage: skynet-mqtt device ${usage}`);
  return make(positionals);
}

/** Parses the words after `device`. */
export function parseDeviceCommand(argv: string[]): DeviceCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const config = values.config;
  if (values.help || command === undefined || command === 'help') return { action: { op: 'help' }, config };
  const profile = () => {
    const body: Record<string, unknown> = {};
    if (values.owner !== undefined) body.owner = values.owner;
    if (values.whitelists !== undefined) body.whitelists = json(values.whitelists, 'whitelists');
    if (values.meta !== undefined) body.meta = json(values.meta, 'meta');
    return body;
  };
  let action: DeviceAction;
  switch (command) {
    case 'register':
      action = only(rest, 0, 'register [--owner UUID] [--whitelists JSON] [--meta JSON]', () => ({ op: 'register', body: profile() }));
      break;
    case 'list':
      action = only(rest, 0, 'list', () => ({ op: 'list' }));
      break;
    case 'show':
    case 'reset-token':
    case 'unregister':
      action = only(rest, 1, `${command} UUID`, ([uuid]) => ({ op: command, uuid: uuid! }));
      break;
    case 'update':
      action = only(rest, 1, 'update UUID [--whitelists JSON] [--meta JSON] [--owner UUID]', ([uuid]) => ({ op: 'update', uuid: uuid!, body: profile() }));
      break;
    case 'admin-secret':
      action = only(rest, 1, 'admin-secret NAME', ([name]) => ({ op: 'admin-secret', name: name! }));
      break;
    case 'token': {
      const [sub, uuid, token, ...extra] = rest;
      if (sub === 'create' && uuid !== undefined && token === undefined) {
        action = { op: 'token-create', uuid, body: { ...(values.tag !== undefined && { tag: values.tag }), ...(values.expires !== undefined && { expiresIn: values.expires }) } };
      } else if (sub === 'revoke' && uuid !== undefined && extra.length === 0 && (token === undefined) !== (values.tag === undefined)) {
        action = { op: 'token-revoke', uuid, body: token !== undefined ? { token } : { tag: values.tag } };
      } else {
        throw new UsageError('usage: skynet-mqtt device token create UUID [--tag T] [--expires 1h] | token revoke UUID (TOKEN | --tag T)');
      }
      break;
    }
    default:
      throw new UsageError(`unknown device command '${command}' (skynet-mqtt device --help)`);
  }
  return { action, config };
}
