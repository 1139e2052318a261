import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { ConfigurationError, type CredentialsOptions, type InterfaceOptions } from '../options.js';
import { httpFileServer } from './http-files.js';

/** Hands a new connection's byte stream to the broker. */
export type Accept = (stream: Duplex, remoteAddress: string) => void;

/** Receives a listener's errors once it listens (a failed accept: EMFILE, ...); they must not crash the process. */
export type ListenerError = (error: Error) => void;

/** A listening socket of one interface (Mosca's `interfaces` entry). */
export interface Listener {
  readonly type: InterfaceOptions['type'];
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
  socket.setNoDelay(true);
  accept(socket, `${socket.remoteAddress}:${socket.remotePort}`);
}

/** What a listener needs of the broker's settings. */
export interface ListenerLimits {
  maxPacketSize: number;
}

/**
 * WebSocket upgrades carrying MQTT in binary frames (subprotocol `mqtt` or `mqttv3.1`). A frame
 * larger than `maxPayload` (the broker's maxPacketSize) is refused from its header, before ws
 * buffers it (ws's own default is 100 MiB).
 */
export function attachWebSocket(server: http.Server | https.Server, options: { path?: string; maxPayload: number }, accept: Accept, onError: ListenerError): WebSocketServer {
  const wss = new WebSocketServer({
    server,
    path: options.path,
    maxPayload: options.maxPayload,
    handleProtocols: (protocols) => ['mqtt', 'mqttv3.1'].find((p) => protocols.has(p)) ?? false,
  });
  // ws re-emits the HTTP server's errors here: without a listener they would be uncaught.
  wss.on('error', onError);
  wss.on('connection', (ws, request) => {
    const stream = createWebSocketStream(ws);
    accept(stream, `${request.socket.remoteAddress}:${request.socket.remotePort}`);
  });
  return wss;
}

async function createServer(iface: InterfaceOptions, accept: Accept, maxPacketSize: number): Promise<{ server: net.Server; wss?: WebSocketServer }> {
  switch (iface.type) {
    case 'mqtt':
      return { server: net.createServer((socket) => onSocket(socket, accept)) };
    case 'mqtts':
      return { server: tls.createServer(tlsOptions(iface.credentials), (socket) => onSocket(socket, accept)) };
    case 'http':
    case 'https': {
      // Plain HTTP requests get files (Mosca's static and bundle) or 426.
      const files = await httpFileServer(iface);
      const server = iface.type === 'http' ? http.createServer(files) : https.createServer(tlsOptions(iface.credentials), files);
      // The HTTP server's own 'error' listener (in listen()) reports its errors; ws's copy is ignored.
      return { server, wss: attachWebSocket(server, { path: iface.path, maxPayload: maxPacketSize }, accept, () => undefined) };
    }
  }
}

/** Opens one interface; a port already taken becomes an error that says what to do. (maxConnections is the broker's: ConnectionGate.) */
export async function listen(iface: InterfaceOptions, accept: Accept, limits: ListenerLimits, onError: ListenerError): Promise<Listener> {
  const { server, wss } = await createServer(iface, accept, limits.maxPacketSize);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new ConfigurationError(
            `port ${iface.port} on ${iface.host ?? 'all addresses'} is already in use (another MQTT broker, such as Mosquitto, may be running): stop it or give the ${iface.type} listener another port`,
            iface.port,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(new ConfigurationError(`no permission to listen on port ${iface.port}: choose a port above 1023 or run with the needed privilege`));
      } else {
        reject(error);
      }
    });
    server.listen(iface.port, iface.host, () => {
      server.on('error', onError);
      const address = server.address() as net.AddressInfo;
      resolve({
        type: iface.type,
        host: address.address,
        port: address.port,
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
