// The "null broker": a do-nothing MQTT forwarder used to measure the load generator's own ceiling.
// It answers CONNECT/SUBSCRIBE/PINGREQ, acknowledges QoS 1/2 on both legs, and forwards every
// PUBLISH unchanged (same QoS, same packet id) to every connection that has subscribed to
// anything: no topic matching, no sessions, no queues. Contiguous PUBLISH frames of one read are
// forwarded as one slice of the read buffer, without copying.
//
//   node null-broker.js --port N [--host 127.0.0.1]
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { FrameReader } from './generator/frame-reader.js';
import { PacketType as T } from './generator/frames.js';


const subscribers = new Set<Socket>();

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let replies: number[] = [];
  // The current run of contiguous PUBLISH frames inside one buffer: [runStart, runEnd) of runBuf.
  let runBuf: Buffer | null = null;
  let runStart = 0;
  let runEnd = 0;
  const flushRun = (): void => {
    if (runBuf === null) return;
    const slice = runBuf.subarray(runStart, runEnd);
    for (const sub of subscribers) sub.write(slice);
    runBuf = null;
  };
  const ack = (type: number, id: number): void => {
    replies.push((type << 4) | (type === T.Pubrel ? 2 : 0), 2, id >> 8, id & 0xff);
  };

  const reader = new FrameReader((buf, header, body, end, start) => {
    const type = header >> 4;
    if (type === T.Publish) {
      if (runBuf !== buf || runEnd !== start) {
        flushRun();
        runBuf = buf;
        runStart = start;
      }
      runEnd = end;
      const qos = (header >> 1) & 3;
      if (qos > 0) {
        const at = body + 2 + ((buf[body]! << 8) | buf[body + 1]!);
        ack(qos === 1 ? T.Puback : T.Pubrec, (buf[at]! << 8) | buf[at + 1]!);
      }
      return;
    }
    flushRun();
    switch (type) {
      case T.Connect:
        replies.push(0x20, 2, 0, 0);
        break;
      case T.Subscribe: {
        const granted: number[] = [];
        for (let p = body + 2; p < end; ) {
          p += 2 + ((buf[p]! << 8) | buf[p + 1]!);
          granted.push(buf[p++]! & 3);
        }
        replies.push(0x90, 2 + granted.length, buf[body]!, buf[body + 1]!, ...granted);
        subscribers.add(socket);
        break;
      }
      case T.Unsubscribe:
        replies.push(0xb0, 2, buf[body]!, buf[body + 1]!);
        break;
      case T.Pubrel:
        ack(T.Pubcomp, (buf[body]! << 8) | buf[body + 1]!);
        break;
      case T.Pubrec:
        ack(T.Pubrel, (buf[body]! << 8) | buf[body + 1]!);
        break;
      case T.Pingreq:
        replies.push(0xd0, 0);
        break;
      case T.Disconnect:
        socket.end();
        break;
      // PUBACK / PUBCOMP from subscribers: nothing to do.
    }
  });

  socket.on('data', (chunk: Buffer) => {
    reader.feed(chunk, chunk.length);
    flushRun();
    if (replies.length > 0 && socket.writable) {
      socket.write(Buffer.from(replies));
      replies = [];
    }
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => subscribers.delete(socket));
}

const { values } = parseArgs({ options: { port: { type: 'string', default: '1883' }, host: { type: 'string', default: '127.0.0.1' } } });
const server = createServer(serve);
server.listen(Number(values.port), values.host, () => {
  console.log(`null broker listening on ${values.host}:${values.port}`);
});
process.on('SIGTERM', () => process.exit(0));
