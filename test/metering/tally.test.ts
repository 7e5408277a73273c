import { describe, it, expect } from '@jest/globals';
import { ManualClock } from '../../kernel/clock.ts';
import { createTally } from '../../metering/tally.ts';
import type { UsageInput } from '../../metering/types.ts';

const request = (over: Partial<UsageInput> = {}): UsageInput => ({ subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1, bytesIn: 10, bytesOut: 100 }, routeClass: '/', method: 'GET', status: 200, durationMs: 3, ...over });

function harness(maxKeys = 100) {
  const clock = new ManualClock(Date.UTC(2026, 10, 22));
  const written: UsageInput[][] = [];
  const tally = createTally({ windowMs: 5, maxKeys, clock, write: (merged) => written.push(merged) });
  return { clock, written, tally };
}

describe('tally: requests counted together', () => {
  it('merges records equal but for their amounts: units and durations summed, the first time kept', () => {
    const { clock, written, tally } = harness();
    const first = clock.now();
    tally.add(request());
    clock.advance(2);
    tally.add(request({ units: { requests: 1, bytesIn: 5, bytesOut: 7 }, durationMs: 4 }));
    tally.add(request({ units: { requests: 1, bytesOut: 1 }, durationMs: 1 }));
    tally.drain();
    expect(written).toEqual([[{ subject: 'anna', service: 'agora', kind: 'request', units: { requests: 3, bytesIn: 15, bytesOut: 108 }, routeClass: '/', method: 'GET', status: 200, durationMs: 8, time: first }]]);
  });

  it('never counts a request into the UTC day (or billing period) before it', () => {
    const { clock, written, tally } = harness();
    clock.set(Date.UTC(2026, 10, 30, 23, 59, 59, 995));
    tally.add(request());
    clock.set(Date.UTC(2026, 11, 1, 0, 0, 0, 5));
    tally.add(request());
    tally.add(request());
    tally.drain();
    expect(written[0].map((r) => [new Date(r.time!).toISOString(), r.units.requests])).toEqual([
      ['2026-11-30T23:59:59.995Z', 1],
      ['2026-12-01T00:00:00.005Z', 2],
    ]);
  });

  it('keeps apart records that differ in any field but the amounts', () => {
    const { written, tally } = harness();
    const variants: Array<Partial<UsageInput>> = [{}, { subject: 'bea' }, { service: 'oficina' }, { collective: 'coop' }, { routeClass: '/dav' }, { method: 'PUT' }, { status: 404 }, { kind: 'storage' }];
    for (const variant of variants) tally.add(request(variant));
    for (const variant of variants) tally.add(request(variant));
    tally.drain();
    expect(written[0]).toHaveLength(variants.length);
    for (const merged of written[0]) expect(merged.units.requests).toBe(2);
  });

  it('keeps apart values that would run into each other in a joined key', () => {
    const { written, tally } = harness();
    tally.add(request({ subject: 'a', service: 'bc' }));
    tally.add(request({ subject: 'ab', service: 'c' }));
    tally.add(request({ subject: 'a1:b', service: 'c' }));
    tally.add(request({ subject: 'a', service: '1:bc' }));
    tally.add(request({ method: 'GET', status: 200 }));
    tally.add(request({ method: 'GET2', status: 0 }));
    tally.drain();
    const byName = (x: unknown[], y: unknown[]) => JSON.stringify(x).localeCompare(JSON.stringify(y));
    expect(written[0].map((r) => [r.subject, r.service, r.method, r.units.requests]).sort(byName)).toEqual([
      ['a', 'bc', 'GET', 1],
      ['ab', 'c', 'GET', 1],
      ['a1:b', 'c', 'GET', 1],
      ['a', '1:bc', 'GET', 1],
      ['anna', 'agora', 'GET', 1],
      ['anna', 'agora', 'GET2', 1],
    ].sort(byName));
  });

  it('sums every unit kind, leaves absent ones absent, and ignores amounts the ledger could not hold', () => {
    const { written, tally } = harness();
    tally.add({ subject: 'anna', service: 'bbb', kind: 'meeting', units: { hostMinutes: 3, participantMinutes: 10 } });
    tally.add({ subject: 'anna', service: 'bbb', kind: 'meeting', units: { hostMinutes: 2, participantMinutes: Number.NaN, storageByteDays: -5 } });
    tally.drain();
    expect(written[0][0].units).toEqual({ hostMinutes: 5, participantMinutes: 10, storageByteDays: 0 });
  });

  it('holds neither the caller\'s object nor its id (the merged record gets its own)', () => {
    const { written, tally } = harness();
    const given = request({ id: 'caller-id' });
    tally.add(given);
    tally.add(request());
    tally.drain();
    expect(given.units).toEqual({ requests: 1, bytesIn: 10, bytesOut: 100 });
    expect(written[0][0].id).toBeUndefined();
    expect(written[0][0].units.requests).toBe(2);
  });

  it('hands the records on after the window, once, and starts afresh', async () => {
    const { written, tally } = harness();
    tally.add(request());
    tally.add(request());
    expect(written).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    expect(written).toHaveLength(1);
    expect(written[0][0].units.requests).toBe(2);
    expect(tally.size).toBe(0);
    tally.add(request({ subject: 'bea' }));
    await new Promise((r) => setTimeout(r, 30));
    expect(written.map((w) => w.map((r) => r.subject))).toEqual([['anna'], ['bea']]);
    tally.close();
  });

  it('hands them on at once when it holds maxKeys different records (bounded memory)', () => {
    const { written, tally } = harness(3);
    tally.add(request({ subject: 'a' }));
    tally.add(request({ subject: 'b' }));
    expect(written).toEqual([]);
    tally.add(request({ subject: 'c' }));
    expect(written.map((w) => w.length)).toEqual([3]);
    expect(tally.size).toBe(0);
    tally.close();
  });

  it('close() hands on what it holds', () => {
    const { written, tally } = harness();
    tally.add(request());
    tally.close();
    expect(written).toHaveLength(1);
  });
});
