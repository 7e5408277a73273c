/** Contract of DocumentStore; runs against every store implementation. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { unique, type MakeStores, type StoreHarness } from './kv.contract.ts';

interface Plan {
  name: string;
  priceCents: number;
}

export function runDocumentsContract(name: string, makeStores: MakeStores): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let h: StoreHarness;
    beforeAll(async () => {
      h = await makeStores();
    });
    afterAll(async () => {
      await h.cleanup();
    });

    it('writes, reads, versions and deletes a document', async () => {
      const plans = unique('plans');
      expect(await h.stores.documents.get(plans, 'basic')).toBeUndefined();
      expect(await h.stores.documents.version(plans, 'basic')).toBe(0);
      await h.stores.documents.write([{ collection: plans, id: 'basic', doc: { name: 'Basic 1 GB', priceCents: 500 } }]);
      expect(await h.stores.documents.get<Plan>(plans, 'basic')).toEqual({ name: 'Basic 1 GB', priceCents: 500 });
      expect(await h.stores.documents.version(plans, 'basic')).toBe(1);
      await h.stores.documents.write([{ collection: plans, id: 'basic', doc: { name: 'Basic 1 GB', priceCents: 600 } }]);
      expect(await h.stores.documents.version(plans, 'basic')).toBe(2);
      await h.stores.documents.write([{ collection: plans, id: 'basic', doc: undefined }]);
      expect(await h.stores.documents.get(plans, 'basic')).toBeUndefined();
      expect(await h.stores.documents.version(plans, 'basic')).toBe(0);
    });

    it('lists a collection in id order, optionally by a literal prefix', async () => {
      const c = unique('subs');
      await h.stores.documents.write([
        { collection: c, id: 'b:2', doc: { n: 2 } },
        { collection: c, id: 'a:1', doc: { n: 1 } },
        { collection: c, id: 'b:1', doc: { n: 3 } },
        { collection: c, id: 'a*x', doc: { n: 4 } },
        { collection: c, id: 'a?y', doc: { n: 5 } },
      ]);
      await h.stores.documents.write([{ collection: unique('other'), id: 'b:9', doc: {} }]);
      expect((await h.stores.documents.list(c)).map((r) => r.id)).toEqual(['a*x', 'a:1', 'a?y', 'b:1', 'b:2']);
      expect(await h.stores.documents.list(c, { prefix: 'b:' })).toEqual([
        { id: 'b:1', doc: { n: 3 } },
        { id: 'b:2', doc: { n: 2 } },
      ]);
      // Glob characters in a prefix are literal.
      expect((await h.stores.documents.list(c, { prefix: 'a*' })).map((r) => r.id)).toEqual(['a*x']);
      expect((await h.stores.documents.list(c, { prefix: 'a?' })).map((r) => r.id)).toEqual(['a?y']);
      expect(await h.stores.documents.list(c, { prefix: 'zz' })).toEqual([]);
      expect(await h.stores.documents.list(unique('empty'))).toEqual([]);
    });

    it('writes a batch across collections atomically', async () => {
      const [collectives, audit] = [unique('collectives'), unique('audit')];
      await h.stores.documents.write([
        { collection: collectives, id: 'coop', doc: { name: 'Coop' } },
        { collection: audit, id: '1', doc: { action: 'create', collective: 'coop' } },
      ]);
      expect(await h.stores.documents.get(collectives, 'coop')).toEqual({ name: 'Coop' });
      expect(await h.stores.documents.get(audit, '1')).toEqual({ action: 'create', collective: 'coop' });
    });

    it('writes none of a batch when one document cannot be stored', async () => {
      const c = unique('plans');
      await h.stores.documents.write([{ collection: c, id: 'existing', doc: { v: 1 } }]);
      const cyclic: Record<string, unknown> = { name: 'loop' };
      cyclic.self = cyclic;
      await expect(
        h.stores.documents.write([
          { collection: c, id: 'first', doc: { fine: true } },
          { collection: c, id: 'existing', doc: undefined },
          { collection: c, id: 'bad', doc: { size: 10n } },
        ]),
      ).rejects.toThrow(/changes\[2\]/);
      await expect(h.stores.documents.write([{ collection: c, id: 'first', doc: { ok: 1 } }, { collection: c, id: 'loop', doc: cyclic }])).rejects.toThrow(
        /serialisable/,
      );
      expect(await h.stores.documents.get(c, 'first')).toBeUndefined();
      expect(await h.stores.documents.get(c, 'existing')).toEqual({ v: 1 });
      expect(await h.stores.documents.version(c, 'existing')).toBe(1);
    });

    it('writeVersioned creates at 0, advances on a match and refuses a stale version', async () => {
      const c = unique('policies');
      expect(await h.stores.documents.writeVersioned(c, 'rules', { v: 'a' }, 0)).toBe(1);
      expect(await h.stores.documents.writeVersioned(c, 'rules', { v: 'b' }, 0)).toBeUndefined();
      expect(await h.stores.documents.get(c, 'rules')).toEqual({ v: 'a' });
      expect(await h.stores.documents.writeVersioned(c, 'rules', { v: 'b' }, 1)).toBe(2);
      expect(await h.stores.documents.writeVersioned(c, 'rules', { v: 'c' }, 1)).toBeUndefined();
      expect(await h.stores.documents.get(c, 'rules')).toEqual({ v: 'b' });
      expect(await h.stores.documents.writeVersioned(c, 'missing', { v: 1 }, 3)).toBeUndefined();
      expect(await h.stores.documents.get(c, 'missing')).toBeUndefined();
      // A plain write also advances the version, so a versioned writer notices it.
      await h.stores.documents.write([{ collection: c, id: 'rules', doc: { v: 'admin' } }]);
      expect(await h.stores.documents.writeVersioned(c, 'rules', { v: 'd' }, 2)).toBeUndefined();
      expect(await h.stores.documents.writeVersioned(c, 'rules', { v: 'd' }, 3)).toBe(4);
    });

    it('lets exactly one of concurrent versioned writers win', async () => {
      const c = unique('policies');
      await h.stores.documents.writeVersioned(c, 'p', { editor: 'none' }, 0);
      const results = await Promise.all(Array.from({ length: 15 }, (_, i) => h.stores.documents.writeVersioned(c, 'p', { editor: `e${i}` }, 1)));
      const winners = results.map((r, i) => (r === 2 ? i : -1)).filter((i) => i >= 0);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r === undefined)).toHaveLength(14);
      expect(await h.stores.documents.get(c, 'p')).toEqual({ editor: `e${winners[0]}` });
    });

    it('refuses a versioned document that cannot be stored', async () => {
      const c = unique('policies');
      await expect(h.stores.documents.writeVersioned(c, 'x', () => 1, 0)).rejects.toThrow(/serialisable/);
      expect(await h.stores.documents.version(c, 'x')).toBe(0);
    });
  });
}
