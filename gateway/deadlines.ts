/**
 * Deadlines for many waiting things, checked by one timer rather than one timer each (a timer per
 * proxied request cost about 1 % of the gateway's CPU). All deadlines of one set are the same
 * length, so insertion order is deadline order and a sweep stops at the first one still running.
 * A deadline fires at most `resolutionMs` late. The timer runs only while something waits, unref'd.
 */
export interface Deadlines<T> {
  /** Starts the clock for `item`. */
  watch(item: T): void;
  /** `item` is done (answered, failed, gone): its deadline will not fire. */
  done(item: T): void;
  close(): void;
}

export function createDeadlines<T>(options: { ms: number; onExpired: (item: T) => void; now?: () => number }): Deadlines<T> {
  const { ms, onExpired } = options;
  const now = options.now ?? (() => performance.now());
  const resolutionMs = Math.min(1000, Math.max(10, Math.floor(ms / 10)));
  const waiting = new Map<T, number>();
  let timer: NodeJS.Timeout | undefined;

  function sweep(): void {
    const at = now();
    for (const [item, deadline] of waiting) {
      if (deadline > at) break;
      waiting.delete(item);
      onExpired(item);
    }
    if (waiting.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    watch(item) {
      waiting.set(item, now() + ms);
      timer ??= setInterval(sweep, resolutionMs).unref();
    },
    done(item) {
      waiting.delete(item);
    },
    close() {
      clearInterval(timer);
      timer = undefined;
      waiting.clear();
    },
  };
}
