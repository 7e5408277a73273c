import { describe, it, expect } from '@jest/globals';
import { failClosed } from '../../store/fail-closed.ts';
import { StoreUnavailableError } from '../../kernel/errors.ts';

class Outage extends Error {}

class Port {
  calls = 0;
  value = 'plain';
  now(): number {
    this.calls += 1;
    return this.calls;
  }
  down(): never {
    throw new Outage('connection refused');
  }
  async downLater(): Promise<never> {
    throw new Outage('connection reset');
  }
  bug(): never {
    throw new TypeError('a bug, not an outage');
  }
  async *pages(): AsyncIterable<number> {
    yield 1;
    throw new Outage('gone mid-way');
  }
}

const wrapped = () => {
  const port = new Port();
  return { port, store: failClosed(port, 'Test', (err) => err instanceof Outage) };
};

describe('failClosed', () => {
  it('calls through with the port as `this`, and passes plain values as they are', () => {
    const { port, store } = wrapped();
    expect(store.now()).toBe(1);
    expect(store.now()).toBe(2);
    expect(port.calls).toBe(2);
    expect(store.value).toBe('plain');
  });

  it('turns outages into a 503 StoreUnavailableError, thrown or rejected or mid-iteration; other errors pass unchanged', async () => {
    const { store } = wrapped();
    expect(() => store.down()).toThrow(StoreUnavailableError);
    await expect(store.downLater()).rejects.toThrow(StoreUnavailableError);
    expect(() => store.bug()).toThrow(TypeError);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of store.pages()) seen.push(n);
      })(),
    ).rejects.toMatchObject({ status: 503, message: 'The Test store is unavailable right now; try again in a moment.' });
    expect(seen).toEqual([1]);
  });

  it('hands out one wrapper per method (no closure per call on the request path), and a new one when the method is replaced', () => {
    const { port, store } = wrapped();
    const first = store.now;
    expect(store.now).toBe(first);
    port.now = () => 42;
    expect(store.now).not.toBe(first);
    expect(store.now()).toBe(42);
  });
});
