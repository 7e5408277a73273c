/** The embedded store is durable: what was written survives closing and reopening the file. */
import { describe, it, expect, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../kernel/clock.ts';
import { createEmbeddedStores } from '../../store/embedded/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'porta-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('embedded store across a restart', () => {
  it('keeps keys, TTLs, counters, ledger entries and documents', async () => {
    const path = join(dir, 'data', 'porta.db');
    const clock = new ManualClock();
    const T0 = clock.now();

    const first = await createEmbeddedStores({ path, clock });
    await first.kv.set('session:1', 'alice');
    await first.kv.set('code:1', 'short-lived', 60);
    await first.kv.addToSet('grants:alice', 'oficina');
    await first.counters.reserve('quota:alice', 700, 1000);
    await first.ledger.append('usage', [{ id: 'u1', time: T0, data: { bytes: 5 } }, { id: 'u2', time: T0 + 1, data: { bytes: 7 } }]);
    await first.documents.writeVersioned('plans', 'basic', { priceCents: 500 }, 0);
    const cursor = (await first.ledger.read('usage', { limit: 1 })).next;
    await first.close();

    clock.advance(30_000);
    const second = await createEmbeddedStores({ path, clock });
    expect(await second.kv.get('session:1')).toBe('alice');
    expect(await second.kv.get('code:1')).toBe('short-lived');
    expect(await second.kv.ttl('code:1')).toBe(30);
    expect(await second.kv.setMembers('grants:alice')).toEqual(['oficina']);
    expect(await second.counters.get('quota:alice')).toBe(700);
    expect(await second.counters.reserve('quota:alice', 400, 1000)).toEqual({ granted: false, total: 700 });
    expect(await second.ledger.count('usage')).toBe(2);
    // A retry after the restart still counts once, and a cursor from before the restart still works.
    expect(await second.ledger.append('usage', [{ id: 'u2', time: T0 + 1, data: { bytes: 7 } }])).toBe(0);
    expect((await second.ledger.read('usage', { after: cursor })).entries.map((e) => e.id)).toEqual(['u2']);
    expect(await second.documents.get('plans', 'basic')).toEqual({ priceCents: 500 });
    expect(await second.documents.version('plans', 'basic')).toBe(1);
    clock.advance(31_000);
    expect(await second.kv.get('code:1')).toBeUndefined();
    await second.close();
  });
});
