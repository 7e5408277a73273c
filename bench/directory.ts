/**
 * Directory scale: loads 1 000 accounts / 50 collectives, then 100 000 accounts / 5 000 collectives
 * (20 members each) into a real slapd with `ldapadd`, and times, through LdapDirectory, the login
 * lookup (`findAccount`), a full password login (`authenticate`: search + bind) and one page of a
 * collective's member list. Target (issue 4): the large directory stays within 2x of the small one.
 *
 * Run alone: `node bench/run.ts directory` (takes a few minutes; most of it is ldapadd).
 */
import { createWriteStream } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { LdapDirectory } from '../directory/ldap/ldap-directory.ts';
import { startSlapd, type Slapd } from '../test/helpers/slapd.ts';

const MEMBERS_PER_COLLECTIVE = 20;
const SAMPLES = 400;
const PASSWORD = 'bench password 123';

interface Timings {
  accounts: number;
  loadSeconds: number;
  lookupMs: number;
  loginMs: number;
  membersPageMs: number;
}

const pad = (n: number) => String(n).padStart(6, '0');

async function writeLdif(file: string, suffix: string, accounts: number, collectives: number): Promise<void> {
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`dn: ou=collectives,ou=groups,${suffix}\nobjectClass: top\nobjectClass: organizationalUnit\nou: collectives\n\n`);
  for (let i = 0; i < accounts; i++) {
    const uid = `u${pad(i)}`;
    await write(`dn: uid=${uid},ou=people,${suffix}\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\nuid: ${uid}\nmail: ${uid}@bench.test\ncn: User ${i}\nsn: ${i}\nuserPassword: ${PASSWORD}\n\n`);
  }
  for (let c = 0; c < collectives; c++) {
    const dn = `cn=c${pad(c)},ou=collectives,ou=groups,${suffix}`;
    const members = Array.from({ length: MEMBERS_PER_COLLECTIVE }, (_, k) => `member: uid=u${pad((c * MEMBERS_PER_COLLECTIVE + k) % accounts)},ou=people,${suffix}`);
    await write(`dn: ${dn}\nobjectClass: top\nobjectClass: groupOfNames\ncn: c${pad(c)}\ndescription: Collective ${c}\nbusinessCategory: oficina\nmember: ${dn}\n${members.join('\n')}\nowner: uid=u${pad(c * MEMBERS_PER_COLLECTIVE % accounts)},ou=people,${suffix}\n\n`);
  }
  out.end();
  await once(out, 'finish');
}

/** Median of `SAMPLES` timed calls (after a warm-up), in ms. */
async function median(fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await fn(i);
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await fn(i * 7919);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function measure(accounts: number, collectives: number): Promise<Timings> {
  const dir = mkdtempSync(join(tmpdir(), 'porta-bench-ldif-'));
  let slapd: Slapd | undefined;
  try {
    slapd = await startSlapd();
    const file = join(dir, 'load.ldif');
    await writeLdif(file, slapd.suffix, accounts, collectives);
    const started = performance.now();
    await slapd.ldapadd(file);
    const loadSeconds = (performance.now() - started) / 1000;
    const directory = new LdapDirectory({ url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix, services: ['oficina'] });
    try {
      const lookupMs = await median(async (i) => {
        if (!(await directory.findAccount(`u${pad(i % accounts)}`))) throw new Error('lookup found nothing');
      });
      const loginMs = await median(async (i) => {
        if (!(await directory.authenticate(`u${pad(i % accounts)}@bench.test`, PASSWORD))) throw new Error('login failed');
      });
      const membersPageMs = await median(async (i) => {
        const page = await directory.listMembers(`c${pad(i % collectives)}`, { limit: 10 });
        if (page.items.length !== 10 || page.total !== MEMBERS_PER_COLLECTIVE) throw new Error(`unexpected member page: ${page.items.length}/${page.total}`);
      });
      return { accounts, loadSeconds, lookupMs, loginMs, membersPageMs };
    } finally {
      await directory.close();
    }
  } finally {
    await slapd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<{ name: string; lines: string[] }> {
  const small = await measure(1_000, 50);
  const large = await measure(100_000, 5_000);
  const row = (label: string, key: 'lookupMs' | 'loginMs' | 'membersPageMs') => {
    const ratio = large[key] / small[key];
    return `${label.padEnd(26)} ${small[key].toFixed(2).padStart(7)} ms  ${large[key].toFixed(2).padStart(7)} ms  ratio ${ratio.toFixed(2)}  ${ratio <= 2 ? 'within 2x' : 'OVER 2x'}`;
  };
  return {
    name: 'directory (LDAP, real slapd): 1 000 vs 100 000 accounts, median of 400 calls',
    lines: [
      `load with ldapadd: ${small.loadSeconds.toFixed(1)} s (1k accounts, 50 collectives), ${large.loadSeconds.toFixed(1)} s (100k accounts, 5 000 collectives)`,
      `${''.padEnd(26)} ${'1k'.padStart(10)}  ${'100k'.padStart(10)}`,
      row('login lookup (findAccount)', 'lookupMs'),
      row('login (search + bind)', 'loginMs'),
      row('member list page (10)', 'membersPageMs'),
    ],
  };
}

// Allow `node bench/directory.ts` directly.
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.stdout.write(`${result.name}\n${result.lines.map((l) => `  ${l}`).join('\n')}\n`);
}
