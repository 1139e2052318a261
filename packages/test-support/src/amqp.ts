import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';

/**
 * The shared RabbitMQ for tests: exchange names unique to a run, their removal, and closing ONE
 * connection of ours from the RabbitMQ side (fault tests), found by the name the adapter gives it.
 */

/** The shared RabbitMQ, as every suite uses it. */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

let names = 0;

/** An exchange name nobody else uses: `test.<pid>.<time>.<tag>.<n>`. */
export function uniqueExchange(tag: string): string {
  return `test.${process.pid}.${Date.now()}.${tag}.${names++}`;
}

/** Deletes the exchanges (the queues of this run's emitters are deleted by their close, or expire). */
export async function deleteExchanges(exchanges: readonly string[]): Promise<void> {
  if (exchanges.length === 0) return;
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const exchange of exchanges) await channel.deleteExchange(exchange);
  } finally {
    await connection.close();
  }
}

const run = promisify(execFile);

/**
 * Closes, from the RabbitMQ side, the ONE connection whose client-provided name is `name` (the
 * adapter's `connectionName`), with `rabbitmqctl close_connection`: never anyone else's.
 * Resolves with how many connections had that name (the test expects exactly one).
 */
export async function closeConnectionNamed(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'], { timeout: 30_000 });
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0]!.trim());
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'closed by the Skynet MQTT fault test'], { timeout: 30_000 });
  return pids.length;
}
