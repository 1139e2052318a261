export type {
  QoS,
  ProtocolLevel,
  MessageProperties,
  UserProperty,
  Message,
  MessageContent,
  PublishedMessage,
  OutgoingPacket,
  QueuedMessage,
  Subscription,
  ClientSubscription,
  Will,
  StoredRecord,
  RecordPage,
} from './types.js';
export type { DeadInstances, EnqueueResult, PutOutgoingResult, Store, StoreOptions } from './store/store.js';
export { DEFAULT_STORE_LIMITS, DEFAULT_RECORD_PAGE, checkRecordName, recordNameError } from './store/store.js';
export { MemoryStore } from './store/memory-store.js';
export { RemovedIds } from './store/removed-ids.js';
export { SessionIndex } from './store/session-index.js';
export { packSubscription, unpackSubscription } from './store/packed-subscription.js';
export type { SessionRecord } from './store/session-index.js';
export type { Emitter, MessageHandler } from './emitter/emitter.js';
export { MemoryEmitter } from './emitter/memory-emitter.js';
export { LocalHandlers } from './emitter/local-handlers.js';
export { PublisherSequences } from './emitter/publisher-sequences.js';
export { TopicIndex } from './topics/topic-index.js';
export { pagesOf, RetainedIndex, type RetainedCursor, type RetainedEntry, type RetainedPage } from './topics/retained-index.js';
export { topicMatches, topicFilterError, topicLevelsError, topicNameError } from './topics/validate.js';
export { isSharedFilter, matchingFilter, sharedFilterError } from './topics/shared-filter.js';
export { Server } from './server.js';
export { MessageIds } from './message-ids.js';
export type { PublishPacket, ServerAddress } from './server.js';
export { Client } from './connection/client.js';
export type { CloseReason } from './connection/client.js';
export type { Hooks } from './hooks.js';
export { ConfigurationError, DEFAULT_OVERLOAD_LIMITS, unknownOptionNames } from './options.js';
export { AdapterOptions, type AdapterLogger } from './adapter-options.js';
export type {
  ServerOptions,
  InterfaceOptions,
  InterfaceFactory,
  InterfaceFallback,
  CustomListener,
  CredentialsOptions,
  AdapterContext,
  StoreFactory,
  EmitterFactory,
  ConnectionRateOptions,
  HttpListenerOptions,
  ResolvedOptions,
} from './options.js';
export type { PublishRateOptions } from './limits/publish-rate.js';
export { VERSION } from './version.js';
export { unref } from './timers.js';
export { encodeMessageProperties, decodeMessageProperties } from './connection/properties.js';
export type { AuthenticationMethod, AuthenticationStep, SubscriptionRequest } from './hooks.js';
export { ControlChannel, CONTROL_LEVEL } from './control/control-channel.js';
export type { ControlHandler, ControlOrigin } from './control/control-channel.js';
export type { SysAccessOptions, SysAudience } from './sys/topic-access.js';
export { BrokerStats, DROP_REASONS, REFUSAL_REASONS, RETAINED_REFUSALS } from './sys/broker-stats.js';
export type { DropReason, RefusalReason, RetainedRefusal } from './sys/broker-stats.js';
export type { LatencySampler } from './sys/latency-sampler.js';
export { checkBackends } from './sys/backend-health.js';
export { timeLimit } from './time-limit.js';
export type { BackendHealth } from './sys/backend-health.js';
export { BUNDLE_PATH } from './listeners/http-files.js';
export { RateLimitedLog } from './logger.js';
export { DropLog } from './emitter/drop-log.js';
export { messageCost } from './connection/byte-budget.js';
export { createStore, createEmitter } from './backends.js';
export { PLUGIN_PACKAGES } from './plugins.js';
export type { Plugin, PluginFactory } from './plugins.js';
export { Authorizer } from './auth/authorizer.js';
export type { Credentials, CredentialsEntry } from './auth/authorizer.js';
export { hashSecret, verifySecret, secretHashError } from './auth/secret-hash.js';
