/** Plan changes pushed to Nextcloud's quota over OCS, and the daily storage sample into metering. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { ManualClock } from '../../kernel/clock.ts';
import { NextcloudOcs } from '../../gateway/enforcers/webdav/nextcloud-ocs.ts';
import { sampleStorage } from '../../gateway/enforcers/webdav/storage-sample.ts';
import type { UsageInput } from '../../metering/types.ts';
import { startWebdavSimulator, type WebdavSimulator } from '../simulators/webdav-server.ts';

const GiB = 1024 ** 3;
let sim: WebdavSimulator;

beforeAll(async () => (sim = await startWebdavSimulator({ admin: { user: 'admin', password: 'admin-pass' } })));
afterAll(async () => sim.close());

describe('Nextcloud OCS', () => {
  it('pushes a plan\'s quota in binary units, and unlimited as none', async () => {
    const ocs = new NextcloudOcs({ url: sim.url, adminUser: 'admin', adminPassword: 'admin-pass' });
    await ocs.setQuota('ana', 5 * GiB);
    expect(sim.quotaOf('ana')).toBe(5 * GiB);
    await ocs.setQuota('ana', null);
    expect(sim.quotaOf('ana')).toBeUndefined();
    sim.seed('ana', 'f.bin', Buffer.alloc(1234));
    expect(await ocs.usedBytes('ana')).toBe(1234);
  });

  it('fails loudly with wrong admin credentials', async () => {
    const wrong = new NextcloudOcs({ url: sim.url, adminUser: 'admin', adminPassword: 'nope' });
    await expect(wrong.setQuota('ana', GiB)).rejects.toThrow(/997/);
  });

  it('samples storage once a day as byte-days, with ids that never count twice', async () => {
    const ocs = new NextcloudOcs({ url: sim.url, adminUser: 'admin', adminPassword: 'admin-pass' });
    sim.seed('bea', 'g.bin', Buffer.alloc(2048));
    const records: UsageInput[] = [];
    const clock = new ManualClock(Date.UTC(2026, 4, 1, 3));
    const run = () => sampleStorage({ service: 'oficina', accounts: [{ subject: 'ana', uid: 'ana' }, { subject: 'bea', uid: 'bea' }], usedBytes: (uid) => ocs.usedBytes(uid), recordUsage: (u) => records.push(u) > 0, clock });
    expect(await run()).toBe(2);
    expect(await run()).toBe(2);
    expect(records.map((r) => [r.id, r.kind, r.units.storageByteDays])).toEqual([
      ['storage-oficina-ana-2026-05-01', 'storage', 1234],
      ['storage-oficina-bea-2026-05-01', 'storage', 2048],
      ['storage-oficina-ana-2026-05-01', 'storage', 1234],
      ['storage-oficina-bea-2026-05-01', 'storage', 2048],
    ]);
  });
});
