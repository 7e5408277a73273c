/**
 * Wraps a store port so that a backend outage surfaces as StoreUnavailableError (503, "try again in a
 * moment") rather than as a driver error: callers then fail closed with a message a person understands.
 * Errors that are not outages (bad arguments, bugs) pass through unchanged.
 */
import { AppError, StoreUnavailableError } from '../kernel/errors.ts';

export type OutageTest = (err: unknown) => boolean;

type Method = (...args: unknown[]) => unknown;

export function failClosed<T extends object>(port: T, backend: string, isOutage: OutageTest): T {
  const translate = (err: unknown): never => {
    if (err instanceof AppError || !isOutage(err)) throw err;
    throw new StoreUnavailableError(backend, err);
  };
  // One wrapper per method, made on first use: some are called on every proxied request (the
  // broadcast's `connected()`), and a new closure per property read cost ~1.5 µs a request there.
  const wrappers = new WeakMap<Method, Method>();
  const wrap = (original: Method, target: T): Method => (...args: unknown[]) => {
    let result: unknown;
    try {
      result = original.apply(target, args);
    } catch (err) {
      return translate(err);
    }
    if (result instanceof Promise) return result.catch(translate);
    if (isAsyncIterable(result)) return guardIterable(result, translate);
    return result;
  };
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as Method;
      let wrapper = wrappers.get(method);
      if (!wrapper) wrappers.set(method, (wrapper = wrap(method, target)));
      return wrapper;
    },
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

async function* guardIterable<T>(iterable: AsyncIterable<T>, translate: (err: unknown) => never): AsyncIterable<T> {
  try {
    yield* iterable;
  } catch (err) {
    translate(err);
  }
}
