import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { ConfigurationError } from '../configuration-error.js';
import { listenerName, type CredentialsOptions, type CustomListener, type InterfaceFactory, type InterfaceOptions } from './interface-options.js';
import { httpFileServer } from './http-files.js';

/** Hands a new connection's byte stream to the broker. */
export type Accept = (stream: Duplex, remoteAddress: string) => void;

/** Receives a listener's errors once it listens (a failed accept: EMFILE, ...); they must not crash the process. */
export type ListenerError = (error: Error) => void;

/** A listening socket of one interface (Mosca's `interfaces` entry). */
export interface Listener {
  readonly type: ReturnType<typeof listenerName>;
  readonly host: string;
  readonly port: number;
  /** Stops accepting; open connections are the broker's to close. */
  close(): Promise<void>;
}

function tlsOptions(credentials: CredentialsOptions | undefined): tls.TlsOptions {
  const { keyPath, certPath, caPaths, ...rest } = credentials ?? {};
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigurationError(`cannot read the TLS ${what} file ${path}: ${(error as Error).message}`);
    }
  };
  return {
    ...(rest as tls.TlsOptions),
    key: keyPath ? read(keyPath, 'key') : undefined,
    cert: certPath ? read(certPath, 'certificate') : undefined,
    ca: caPaths?.map((path) => read(path, 'CA')),
  };
}

function onSocket(socket: net.Socket, accept: Accept): void {
  accept(socket, `${socket.remoteAddress}:${socket.remotePort}`);
}

/** Nagle's algorithm off from the accept on (the server's option: no call per socket); writes are batched per tick instead. */
const SOCKET_OPTIONS = { noDelay: true };

/** What a listener needs of the broker's settings. */
export interface ListenerLimits {
  maxPacketSize: number;
}

/** MQTT over WebSocket on an HTTP(S) server; `close()` stops taking upgrades there. */
export interface WebSocketAttachment {
  close(): void;
}

const MQTT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

function pathnameOf(url: string | undefined): string {
  const query = url?.indexOf('?') ?? -1;
  return query === -1 ? (url ?? '') : url!.slice(0, query);
}

function offersMqtt(request: http.IncomingMessage): boolean {
  const offered = request.headers['sec-websocket-protocol'];
  return offered !== undefined && offered.split(',').some((p) => MQTT_SUBPROTOCOLS.includes(p.trim()));
}

/**
 * WebSocket upgrades carrying MQTT in binary frames (subprotocol `mqtt` or `mqttv3.1`) on an
 * HTTP(S) server. Only upgrades meant for the broker are taken: those on `path` when one is
 * given; otherwise those that offer an MQTT subprotocol, or any while nothing else on the server
 * handles upgrades. The others are left to the application's own `upgrade` listeners, or refused
 * when there are none (ws with `server:` would answer them all with 400). Nothing is listened to
 * on the server but `upgrade`, so its errors (a port in use) stay the listener's to handle.
 * A frame larger than `maxPayload` (the broker's maxPacketSize) is refused from its header,
 * before ws buffers it (ws's own default is 100 MiB).
 */
export function attachWebSocket(server: http.Server | https.Server, options: { path?: string; maxPayload: number }, accept: Accept): WebSocketAttachment {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    handleProtocols: (protocols) => MQTT_SUBPROTOCOLS.find((p) => protocols.has(p)) ?? false,
  });
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const alone = server.listenerCount('upgrade') === 1;
    const ours = options.path !== undefined ? pathnameOf(request.url) === options.path : alone || offersMqtt(request);
    if (ours) {
      wss.handleUpgrade(request, socket, head, (ws) => {
        accept(createWebSocketStream(ws), `${request.socket.remoteAddress}:${request.socket.remotePort}`);
      });
    } else if (alone) {
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  };
  server.on('upgrade', onUpgrade);
  return {
    close: () => {
      server.off('upgrade', onUpgrade);
      wss.close();
    },
  };
}

/** Builds a custom interface's listener (Mosca's factory `type`), with what the factory is given. */
export type MakeCustom = (factory: InterfaceFactory, iface: InterfaceOptions) => CustomListener;

async function createServer(iface: InterfaceOptions, accept: Accept, maxPacketSize: number, makeCustom: MakeCustom): Promise<{ server: CustomListener; wss?: WebSocketAttachment }> {
  if (typeof iface.type === 'function') return { server: makeCustom(iface.type, iface) };
  switch (iface.type) {
    case 'mqtt':
      return { server: net.createServer(SOCKET_OPTIONS, (socket) => onSocket(socket, accept)) };
    case 'mqtts':
      return { server: tls.createServer({ ...SOCKET_OPTIONS, ...tlsOptions(iface.credentials) }, (socket) => onSocket(socket, accept)) };
    case 'http':
    case 'https': {
      // Plain HTTP requests get files (Mosca's static and bundle) or 426.
      const files = await httpFileServer(iface);
      const server = iface.type === 'http' ? http.createServer(files) : https.createServer(tlsOptions(iface.credentials), files);
      // The HTTP server's own 'error' listener (in listen()) reports its errors; ws's copy is ignored.
      return { server, wss: attachWebSocket(server, { path: iface.path, maxPayload: maxPacketSize }, accept) };
    }
  }
}

/**
 * Opens one interface; a port already taken becomes an error that says what to do. The broker's
 * `maxConnections` is counted across listeners (ConnectionGate); an interface's own
 * `maxConnections` also caps that listener (net.Server.maxConnections).
 */
export async function listen(iface: InterfaceOptions, accept: Accept, limits: ListenerLimits, onError: ListenerError, makeCustom: MakeCustom): Promise<Listener> {
  const { server, wss } = await createServer(iface, accept, limits.maxPacketSize, makeCustom);
  if (iface.maxConnections !== undefined) server.maxConnections = iface.maxConnections;
  const name = listenerName(iface);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new ConfigurationError(
            `port ${iface.port} on ${iface.host ?? 'all addresses'} is already in use (another MQTT broker, such as Mosquitto, may be running): stop it or give the ${name} listener another port`,
            iface.port,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(new ConfigurationError(`no permission to listen on port ${iface.port}: choose a port above 1023 or run with the needed privilege`));
      } else {
        reject(error);
      }
    });
    server.listen(iface.port!, iface.host, () => {
      server.on('error', onError);
      // A custom listener may not say where it listens: it is shown with the port it was given.
      const address = server.address?.();
      const bound = typeof address === 'object' && address ? address : { address: iface.host ?? '0.0.0.0', port: iface.port! };
      resolve({
        type: name,
        host: bound.address,
        port: bound.port,
        close: () =>
          new Promise<void>((done) => {
            wss?.close();
            server.close(() => done());
            // Upgraded WebSocket connections keep an http server open: they are closed by the broker.
            if (server instanceof http.Server) server.closeIdleConnections();
          }),
      });
    });
  });
}
