/** Contract of Broadcast; runs against every store implementation. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { Stores } from '../../store/types.ts';
import { unique, type MakeStores, type StoreHarness } from './kv.contract.ts';

/** Collects messages; `next(n)` resolves once `n` have arrived, or rejects after a timeout. */
function inbox() {
  const messages: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    messages,
    push(message: string) {
      messages.push(message);
      for (const w of waiters.filter((w) => messages.length >= w.n)) w.resolve();
    },
    until(n: number, timeoutMs = 3000): Promise<void> {
      if (messages.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${n} messages, got ${messages.length}: ${JSON.stringify(messages)}`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

export function runBroadcastContract(name: string, makeStores: MakeStores): void {
  describe(`Broadcast contract: ${name}`, () => {
    let h: StoreHarness;
    let peer: Stores;
    beforeAll(async () => {
      h = await makeStores();
      peer = h.makePeer ? await h.makePeer() : h.stores;
    });
    afterAll(async () => {
      await h.cleanup();
    });

    it('delivers a published message to a subscriber, in order', async () => {
      const channel = unique('policy-changed');
      const box = inbox();
      const unsubscribe = await peer.broadcast.subscribe(channel, box.push);
      await h.stores.broadcast.publish(channel, 'plans:v1');
      await h.stores.broadcast.publish(channel, 'plans:v2');
      await h.stores.broadcast.publish(channel, 'plans:v3');
      await box.until(3);
      expect(box.messages).toEqual(['plans:v1', 'plans:v2', 'plans:v3']);
      await unsubscribe();
    });

    it('keeps channels apart and delivers to every subscriber of a channel', async () => {
      const [logout, policy] = [unique('logout'), unique('policy')];
      const a = inbox();
      const b = inbox();
      const other = inbox();
      const offA = await peer.broadcast.subscribe(logout, a.push);
      const offB = await h.stores.broadcast.subscribe(logout, b.push);
      const offOther = await peer.broadcast.subscribe(policy, other.push);
      await h.stores.broadcast.publish(logout, 'sid-1');
      await a.until(1);
      await b.until(1);
      await h.stores.broadcast.publish(policy, 'p');
      await other.until(1);
      expect(a.messages).toEqual(['sid-1']);
      expect(b.messages).toEqual(['sid-1']);
      expect(other.messages).toEqual(['p']);
      await Promise.all([offA(), offB(), offOther()]);
    });

    it('stops delivering after unsubscribe, without affecting other subscribers', async () => {
      const channel = unique('logout');
      const gone = inbox();
      const stays = inbox();
      const offGone = await peer.broadcast.subscribe(channel, gone.push);
      const offStays = await peer.broadcast.subscribe(channel, stays.push);
      await h.stores.broadcast.publish(channel, 'before');
      await gone.until(1);
      await stays.until(1);
      await offGone();
      await h.stores.broadcast.publish(channel, 'after');
      await stays.until(2);
      expect(stays.messages).toEqual(['before', 'after']);
      expect(gone.messages).toEqual(['before']);
      await offStays();
    });

    it('survives a subscriber that throws', async () => {
      const channel = unique('policy');
      const box = inbox();
      const offBad = await peer.broadcast.subscribe(channel, () => {
        throw new Error('subscriber bug');
      });
      const offGood = await peer.broadcast.subscribe(channel, box.push);
      await h.stores.broadcast.publish(channel, 'one');
      await h.stores.broadcast.publish(channel, 'two');
      await box.until(2);
      expect(box.messages).toEqual(['one', 'two']);
      await Promise.all([offBad(), offGood()]);
    });
  });
}
