import { Authorizer } from '@skynet-mqtt/core';
import type { UserCommand } from './args.js';

/**
 * Mosca's `adduser` and `rmuser` on a credentials file: the file is created when missing and
 * rewritten whole (2-space JSON, mode 0600); existing Mosca entries are kept as they are.
 */
export async function runUserCommand(command: UserCommand, stderr: { write(text: string): unknown }): Promise<number> {
  try {
    const authorizer = await Authorizer.load(command.file, { mustExist: command.kind === 'rmuser' });
    if (command.kind === 'adduser') {
      await authorizer.addUser(command.user, command.password, command.authorizePublish, command.authorizeSubscribe);
    } else if (!(await authorizer.rmUser(command.user))) {
      stderr.write(`skynet-mqtt: rmuser: no user ${JSON.stringify(command.user)} in ${command.file}\n`);
      return 1;
    }
    await authorizer.save(command.file);
    stderr.write(`skynet-mqtt: ${command.kind === 'adduser' ? 'added' : 'removed'} ${command.user} (${command.file}); a running broker reads it again on SIGHUP\n`);
    return 0;
  } catch (error) {
    stderr.write(`skynet-mqtt: ${command.kind}: ${(error as Error).message}\n`);
    return 1;
  }
}
