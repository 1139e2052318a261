import { randomBytes } from 'node:crypto';
import { hashSecret, type ServerOptions } from '@skynet-mqtt/core';
import { RequestError } from '@skynet-mqtt/device-auth';
import { loadConfigFile } from './config.js';
import { DEVICE_HELP, parseDeviceCommand, type DeviceAction } from './device-args.js';
import { directOps, embeddedStoreName, httpOps, type DeviceOps } from './device-ops.js';

interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  cwd: string;
  env: NodeJS.ProcessEnv;
}

async function perform(ops: DeviceOps, action: Exclude<DeviceAction, { op: 'admin-secret' }>, line: (value: unknown) => void): Promise<void> {
  switch (action.op) {
    case 'register':
      return line(await ops.register(action.body));
    case 'list':
      for (const device of await ops.list()) line(device);
      return;
    case 'show':
      return line(await ops.show(action.uuid));
    case 'update':
      return line(await ops.update(action.uuid, action.body));
    case 'reset-token':
      return line(await ops.resetToken(action.uuid));
    case 'token-create':
      return line(await ops.createToken(action.uuid, action.body));
    case 'token-revoke': {
      const revoked = await ops.revokeToken(action.uuid, action.body);
      if (revoked === 0) throw new RequestError(`no such session token of ${action.uuid}`);
      return line({ uuid: action.uuid, revoked });
    }
    case 'unregister':
      await ops.unregister(action.uuid);
      return line({ uuid: action.uuid, unregistered: true });
  }
}

/**
 * `skynet-mqtt device ...`: one JSON line per result on stdout (tokens are shown there once),
 * notes and errors on stderr. Exit codes: 0 done, 1 failed, 2 bad command line.
 */
export async function runDeviceCommand(argv: string[], io: Io): Promise<number> {
  const { action, config } = parseDeviceCommand(argv);
  const line = (value: unknown) => io.stdout.write(`${JSON.stringify(value)}\n`);
  if (action.op === 'help') {
    io.stdout.write(DEVICE_HELP);
    return 0;
  }
  if (action.op === 'admin-secret') {
    const secret = randomBytes(32).toString('base64url');
    line({ name: action.name, secret, secretHash: await hashSecret(secret) });
    return 0;
  }
  let ops: DeviceOps | undefined;
  try {
    const options: ServerOptions = config === undefined ? {} : await loadConfigFile(config, io.cwd);
    if (options.deviceAuth === undefined) throw new RequestError(`${config ?? 'no config given'}: device commands need the config the brokers run with, with its deviceAuth section (-c CONFIG)`);
    const embedded = embeddedStoreName(options);
    if (embedded) {
      const http = httpOps(options, io.env);
      io.stderr.write(`skynet-mqtt: the ${embedded} store is held by the running broker: going through its admin API at ${http.url}\n`);
      ops = http.ops;
    } else {
      ops = await directOps(options);
    }
    await perform(ops, action, line);
    return 0;
  } catch (error) {
    io.stderr.write(`skynet-mqtt: device ${action.op}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await ops?.close();
  }
}
