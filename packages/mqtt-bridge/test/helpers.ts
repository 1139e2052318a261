import type { AdapterLogger, Message, MessageHandler } from '@skynet-mqtt/core';

/** Records log lines, to check an outage is logged once and not per reconnect attempt. */
export function recordingLogger(): AdapterLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(`warn ${m}`), info: (m) => lines.push(`info ${m}`), error: (m) => lines.push(`error ${m}`) };
}

/** A handler that records what it receives. */
export function recorder(): MessageHandler & { received: Message[] } {
  const received: Message[] = [];
  return Object.assign((m: Message) => void received.push(m), { received });
}

/** A unique prefix per test run and call. */
let count = 0;
export function uniquePrefix(name: string): string {
  return `skynet-test/${name}-${process.pid}-${Date.now()}-${++count}`;
}
