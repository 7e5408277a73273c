/** Broadcast within one process: the embedded store has a single owner process, so an EventEmitter is enough. */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../kernel/logger.ts';
import type { Broadcast } from '../types.ts';

export class LocalBroadcast implements Broadcast {
  private readonly emitter = new EventEmitter();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
    this.emitter.setMaxListeners(0);
  }

  /** In-process delivery is never interrupted. */
  connected(): boolean {
    return true;
  }

  epoch(): number {
    return 0;
  }

  async publish(channel: string, message: string): Promise<void> {
    // Delivered on a later tick, like a message from Redis: a publisher never runs subscribers inline.
    setImmediate(() => this.emitter.emit(channel, message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    const listener = (message: string) => {
      try {
        onMessage(message);
      } catch (err) {
        this.logger.error({ err, channel }, 'broadcast subscriber failed');
      }
    };
    this.emitter.on(channel, listener);
    return async () => {
      this.emitter.off(channel, listener);
    };
  }
}
