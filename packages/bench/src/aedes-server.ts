// Aedes (the reference Node.js broker) with its defaults, on a plain TCP listener.
//   node aedes-server.js --port N [--host 127.0.0.1]
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';

const { values } = parseArgs({ options: { port: { type: 'string', default: '1883' }, host: { type: 'string', default: '127.0.0.1' } } });
const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(Number(values.port), values.host, () => {
  console.log(`aedes listening on ${values.host}:${values.port}`);
});
process.on('SIGTERM', () => process.exit(0));
