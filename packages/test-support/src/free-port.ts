import { once } from 'node:events';
import net, { Socket } from 'node:net';

// The kernel may offer the same ephemeral port to two binds in a row once the first was released,
// so two ports asked for back to back (an emitter's data and control ports) could be equal.
const handedOut = new Set<number>();

/** A port nobody listens on right now and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await ephemeralPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** Bind port 0 on 127.0.0.1, read the port the kernel chose, release it. */
async function ephemeralPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` right now. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}
