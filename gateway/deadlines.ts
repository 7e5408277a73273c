/**
 * Deadlines for many waiting things, checked by one timer rather than one timer each (a timer per
 * proxied request cost about 1 % of the gateway's CPU). All deadlines of one set are the same
 * length, so insertion order is deadline order and a sweep stops at the first one still running.
 * A deadline fires at most `resolutionMs` late. The timer runs only while something waits, unref'd.
 *
 * The waiting ones are a linked list of small nodes, and a node lets go of everything (item,
 * neighbours) the moment it is done. Not a Map keyed by the items: when a Map grows or shrinks, V8
 * moves its entries to a new table and leaves the old one holding every key it had. An old table
 * that had reached the old generation then kept those requests "alive" for the young-generation
 * collector (which takes every old-to-young pointer as a root) until the next full collection; they
 * were copied and promoted, megabytes per minor GC, which then took 10–40 ms. That was the gateway's
 * "GC state" of docs/gateway.md: rounds at half speed and a p99 of tens of ms.
 */
export interface Deadline<T> {
  /** The item, until the deadline is done or fired. */
  item: T | undefined;
  readonly at: number;
  prev: Deadline<T> | undefined;
  next: Deadline<T> | undefined;
}

export interface Deadlines<T> {
  /** Starts the clock for `item`; `done` takes what this returns. */
  watch(item: T): Deadline<T>;
  /** Done (answered, failed, gone): the deadline will not fire. Again, or after it fired: nothing. */
  done(deadline: Deadline<T>): void;
  /** Deadlines running. */
  readonly size: number;
  close(): void;
}

export function createDeadlines<T>(options: { ms: number; onExpired: (item: T) => void; now?: () => number }): Deadlines<T> {
  const { ms, onExpired } = options;
  const now = options.now ?? (() => performance.now());
  const resolutionMs = Math.min(1000, Math.max(10, Math.floor(ms / 10)));
  let first: Deadline<T> | undefined;
  let last: Deadline<T> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let size = 0;

  /** Takes a node out of the list and clears it: a done node holds nothing. */
  function unlink(node: Deadline<T>): void {
    if (node.prev) node.prev.next = node.next;
    else if (first === node) first = node.next;
    else return; // not in the list (done already, or fired)
    if (node.next) node.next.prev = node.prev;
    else last = node.prev;
    node.prev = node.next = node.item = undefined;
    size -= 1;
  }

  function stopIfIdle(): void {
    if (first !== undefined) return;
    clearInterval(timer);
    timer = undefined;
  }

  function sweep(): void {
    const at = now();
    while (first !== undefined && first.at <= at) {
      const node = first;
      const item = node.item as T;
      unlink(node);
      onExpired(item);
    }
    stopIfIdle();
  }

  return {
    watch(item) {
      const node: Deadline<T> = { item, at: now() + ms, prev: last, next: undefined };
      if (last) last.next = node;
      else first = node;
      last = node;
      size += 1;
      timer ??= setInterval(sweep, resolutionMs).unref();
      return node;
    },
    done: unlink,
    get size() {
      return size;
    },
    close() {
      while (first !== undefined) unlink(first);
      stopIfIdle();
    },
  };
}
