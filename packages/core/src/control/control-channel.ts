import type { Logger } from 'pino';
import type { Emitter, MessageHandler } from '../emitter/emitter.js';
import { MemoryEmitter } from '../emitter/memory-emitter.js';
import { MessageIds } from '../message-ids.js';
import type { Message } from '../types.js';

/**
 * The top topic level of the broker's own traffic between instances. Clients can neither publish
 * under it nor subscribe to it (see sys/topic-access.ts), and `server.publish()` refuses it, so
 * whatever arrives here was sent by a broker instance's ControlChannel.
 */
export const CONTROL_LEVEL = '$CONTROL';
const CONTROL_FILTER = `${CONTROL_LEVEL}/#`;

/** Where a control message comes from. */
export interface ControlOrigin {
  /** The id of the broker instance that sent it. */
  brokerId: string;
  /** True when this instance sent it (the Emitter delivers to the sender too). */
  local: boolean;
}

/** `message` is the control message itself, for kinds that carry an application message (forward). */
export type ControlHandler = (payload: Buffer, origin: ControlOrigin, message: Message) => void;

/**
 * Messages between broker instances (the takeover signal, token revocation, ...), carried by the
 * Emitter on `$CONTROL/<kind>/<broker id>`: every instance sharing the backend receives what any
 * instance sends, itself included. Delivery is the Emitter's: at most once, in order per sender.
 *
 * ```ts
 * const off = server.control.on('revoke', (payload, origin) => { ... });
 * await server.control.send('revoke', JSON.stringify({ uuid }));
 * ```
 */
export class ControlChannel {
  private readonly handlers = new Map<string, Set<ControlHandler>>();
  private readonly receive: MessageHandler = (message) => this.dispatch(message);
  private readonly prefixLength = CONTROL_LEVEL.length + 1;

  constructor(
    private readonly emitter: Emitter,
    private readonly brokerId: string,
    private readonly logger: Logger,
    /** The broker's, so that control messages are numbered with its other messages. */
    private readonly messageIds = new MessageIds(brokerId),
  ) {}

  /** Subscribes to the control level on the Emitter; resolves once messages can arrive. */
  start(): Promise<void> {
    return this.emitter.subscribe(CONTROL_FILTER, this.receive);
  }

  /**
   * Whether no other instance can hear this one: its Emitter is in-process and nothing else
   * listens to the control level there. A signal only other instances act on need not go then.
   */
  get alone(): boolean {
    return this.emitter instanceof MemoryEmitter && !this.emitter.hasSubscribers(CONTROL_FILTER, this.receive);
  }

  /** Sends `payload` to the `kind` handlers of every instance; resolves once the Emitter has it. */
  send(kind: string, payload: Buffer | string): Promise<void> {
    checkKind(kind);
    const message: Message = {
      id: this.messageIds.next(),
      topic: `${CONTROL_LEVEL}/${kind}/${this.brokerId}`,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: 1,
      retain: false,
    };
    return this.emitter.publish(message).then(() => undefined);
  }

  /**
   * Sends `payload` to the `kind` handlers of every instance as a copy of `message`: its id, QoS,
   * MQTT 5 properties and expiry travel with it, as the Emitter carries them for any message.
   */
  forward(kind: string, message: Message, payload: Buffer): Promise<void> {
    checkKind(kind);
    const copy: Message = { id: message.id, topic: `${CONTROL_LEVEL}/${kind}/${this.brokerId}`, payload, qos: message.qos, retain: false };
    if (message.properties) copy.properties = message.properties;
    if (message.expiresAt !== undefined) copy.expiresAt = message.expiresAt;
    return this.emitter.publish(copy).then(() => undefined);
  }

  /** Calls `handler` for every `kind` message from any instance; returns what removes it. */
  on(kind: string, handler: ControlHandler): () => void {
    checkKind(kind);
    let set = this.handlers.get(kind);
    if (!set) this.handlers.set(kind, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(kind) === set) this.handlers.delete(kind);
    };
  }

  private dispatch(message: Message): void {
    const rest = message.topic.slice(this.prefixLength);
    const slash = rest.indexOf('/');
    if (slash <= 0) return;
    const handlers = this.handlers.get(rest.slice(0, slash));
    if (!handlers) return;
    const brokerId = rest.slice(slash + 1);
    const origin: ControlOrigin = { brokerId, local: brokerId === this.brokerId };
    for (const handler of [...handlers]) {
      try {
        handler(message.payload, origin, message);
      } catch (error) {
        this.logger.error({ err: error, topic: message.topic }, 'a control message handler failed');
      }
    }
  }
}

function checkKind(kind: string): void {
  if (typeof kind !== 'string' || kind.length === 0 || /[/+#]/.test(kind)) {
    throw new Error(`a control message kind is one topic level without '/', '+' or '#', got ${JSON.stringify(kind)}`);
  }
}
