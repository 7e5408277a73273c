/**
 * Wraps a store port so that a backend outage surfaces as StoreUnavailableError (503, "try again in a
 * moment") rather than as a driver error: callers then fail closed with a message a person understands.
 * Errors that are not outages (bad arguments, bugs) pass through unchanged.
 */
import { AppError, StoreUnavailableError } from '../kernel/errors.ts';

export type OutageTest = (err: unknown) => boolean;

export function failClosed<T extends object>(port: T, backend: string, isOutage: OutageTest): T {
  const translate = (err: unknown): never => {
    if (err instanceof AppError || !isOutage(err)) throw err;
    throw new StoreUnavailableError(backend, err);
  };
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          return translate(err);
        }
        if (result instanceof Promise) return result.catch(translate);
        if (isAsyncIterable(result)) return guardIterable(result, translate);
        return result;
      };
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
