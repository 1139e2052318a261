import { checkBackends, type BackendHealth, type Server } from '@skynet-mqtt/core';

/** How long one backend check is reused: probes and scrapes arriving together share one ping. */
const CACHE_MS = 1000;
/** A backend that does not answer a ping within this counts as down. */
const PING_TIMEOUT_MS = 1000;

export interface Readiness {
  ready: boolean;
  /** Every configured listener is open and the server is not closing. */
  listeners: boolean;
  backends: BackendHealth[];
}

/** Backend health and readiness of one broker instance, for /readyz, /metrics and the API. */
export class Health {
  private cached: { at: number; value: Promise<BackendHealth[]> } | null = null;

  constructor(private readonly server: Server) {}

  /** The Store's and the Emitter's health, at most CACHE_MS old. */
  backends(): Promise<BackendHealth[]> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= CACHE_MS) {
      this.cached = { at: now, value: checkBackends(this.server.store, this.server.emitter, PING_TIMEOUT_MS) };
    }
    return this.cached.value;
  }

  /** Ready: started, every listener open, every backend reachable. */
  async readiness(): Promise<Readiness> {
    const listeners = this.server.listeningOnAll;
    // Before the start completes there may be no Store or Emitter to ask yet.
    const backends = this.server.store && this.server.emitter ? await this.backends() : [];
    return { ready: listeners && backends.length > 0 && backends.every((b) => b.up), listeners, backends };
  }
}
