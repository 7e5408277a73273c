/**
 * Admin API routes a person uses about themself, plus two read-only lists and one admin action:
 *
 *   GET    /me/plan                      plans and quotas with what is used          any signed-in caller
 *   GET    /me/sessions                  own gateway sessions (no cookies, no tokens) any signed-in caller
 *   DELETE /me/sessions/{id}             ends one, in every gateway process           any signed-in caller
 *   GET    /me/export                    one JSON download of one's own data          any signed-in caller
 *   GET    /services                     the configured services                      any signed-in caller
 *   GET    /clients                      the OIDC clients, without secrets            platform admins
 *   POST   /accounts/{id}/password-reset mails a reset link, audited                  platform admins
 *
 * Password reset is for platform admins only, not managers: an account belongs to its person, not to
 * a collective, and anyone can ask for a reset link on the login page anyway.
 */
import { Router } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { OpenApiFragment } from '../../kernel/caller.ts';
import type { Logger } from '../../kernel/logger.ts';
import { silentLogger } from '../../kernel/logger.ts';
import type { ServiceConfig } from '../../config/schema/index.ts';
import type { Directory } from '../../directory/types.ts';
import type { AccountFlows } from '../../directory/accounts/account-flows.ts';
import { accountSnapshot, type AuditLog, type AuditRecord } from '../../directory/audit.ts';
import { accountNotFound } from '../../directory/errors.ts';
import { limitsFor, type Identity, type PolicyDocument, type Subscription } from '../../policies/index.ts';
import type { UsageRecord } from '../../metering/index.ts';
import type { SessionListing } from '../../gateway/session/listing.ts';
import { callerOf, requirePlatformAdmin } from './access.ts';
import { operation } from './openapi.ts';
import { parseBody } from './validate.ts';
import { emptyBody } from './schemas.ts';

const DAY_MS = 86_400_000;
/** How far back the latest storage sample is looked for (samples are daily). */
const STORAGE_SAMPLE_DAYS = 31;
/** Audit entries read at most for one export (pages of 1000). */
const AUDIT_SCAN_LIMIT = 200_000;

/** The parts of the IdP's client registry this module reads (structurally `ClientRegistry`). */
export interface ClientRegistryView {
  metadata: ReadonlyArray<{
    client_id: string;
    client_name?: string;
    redirect_uris?: readonly string[];
    post_logout_redirect_uris?: readonly string[];
    grant_types?: readonly string[];
    token_endpoint_auth_method?: string;
  }>;
  policies: Map<string, { firstParty: boolean; builtIn: string | false }>;
}

export interface SelfServiceDeps {
  directory: Directory;
  flows: AccountFlows;
  audit: AuditLog;
  services: readonly ServiceConfig[];
  /** The OIDC clients as the IdP registers them (config plus built-ins). */
  clients: () => Promise<ClientRegistryView>;
  policy: () => PolicyDocument;
  identityOf: (accountId: string) => Promise<Identity>;
  usage: { recordsOf(subject: string, from: number, to: number): Promise<UsageRecord[]> };
  subscriptions: { list(): Promise<Subscription[]> };
  /** Gateway sessions; without it `/me/sessions` lists nothing. */
  sessions?: SessionListing;
  clock: Clock;
  logger?: Logger;
}

export type QuotaId = 'storage' | 'meetingMinutes' | 'hostedMinutesPerDay' | 'recordingStorage';

export interface Quota {
  id: QuotaId;
  unit: 'bytes' | 'minutes';
  /** `null`: not known (no storage sample yet; recordings are not metered). */
  used: number | null;
  /** `null`: unlimited; 0: not included. */
  limit: number | null;
}

const SESSION_ID = /^[0-9a-f]{32}$/;
const sessionNotFound = () => new AppError(404, 'session_not_found', 'No such session: it may have ended already.');

function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function startOfUtcMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/**
 * What the records say is used: storage = the latest day's samples (bytes, summed over services),
 * meetingMinutes = the longest meeting hosted this month, hostedMinutesPerDay = minutes hosted today.
 */
export function usedFromRecords(records: UsageRecord[], now: number): Record<'storage' | 'meetingMinutes' | 'hostedMinutesPerDay', number | null> {
  const storageByDay = new Map<number, number>();
  let longest = 0;
  let today = 0;
  const month = startOfUtcMonth(now);
  const day = startOfUtcDay(now);
  for (const r of records) {
    const bytes = r.units.storageByteDays;
    if (typeof bytes === 'number') storageByDay.set(startOfUtcDay(r.time), (storageByDay.get(startOfUtcDay(r.time)) ?? 0) + bytes);
    const minutes = r.units.hostMinutes ?? 0;
    if (minutes > 0 && r.time >= month) longest = Math.max(longest, minutes);
    if (minutes > 0 && r.time >= day) today += minutes;
  }
  const lastDay = Math.max(...storageByDay.keys());
  return { storage: storageByDay.size > 0 ? (storageByDay.get(lastDay) ?? 0) : null, meetingMinutes: longest, hostedMinutesPerDay: today };
}

function auditAbout(record: AuditRecord, accountId: string): boolean {
  return record.actor === accountId || record.target.id === accountId || (record.target.type === 'membership' && record.target.id.endsWith(`/${accountId}`));
}

export function selfServiceRoutes(deps: SelfServiceDeps): { router: Router; openapi: OpenApiFragment } {
  const { directory, flows, audit, clock } = deps;
  const logger = deps.logger ?? silentLogger;
  const router = Router();

  router.get('/me/plan', async (_req, res) => {
    const caller = callerOf(res);
    const policy = deps.policy();
    const identity = await deps.identityOf(caller.accountId);
    const storageService = deps.services.find((s) => s.kind === 'webdav')?.id ?? deps.services[0]?.id ?? '';
    const limits = limitsFor(policy, identity, storageService);
    const now = clock.now();
    const from = Math.min(startOfUtcMonth(now), startOfUtcDay(now) - STORAGE_SAMPLE_DAYS * DAY_MS);
    const used = usedFromRecords(await deps.usage.recordsOf(caller.accountId, from, startOfUtcDay(now) + DAY_MS), now);
    const quotas: Quota[] = [
      { id: 'storage', unit: 'bytes', used: used.storage, limit: limits.storage },
      { id: 'meetingMinutes', unit: 'minutes', used: used.meetingMinutes, limit: limits.meetingMinutes },
      { id: 'hostedMinutesPerDay', unit: 'minutes', used: used.hostedMinutesPerDay, limit: limits.hostedMinutesPerDay },
      // Recording sizes live in BigBlueButton and are not metered: unknown here.
      { id: 'recordingStorage', unit: 'bytes', used: null, limit: limits.recordingStorage },
    ];
    res.json({ plans: limits.plans.map((id) => ({ id, name: policy.plans[id]?.name ?? id })), quotas });
  });

  router.get('/me/sessions', async (_req, res) => {
    const caller = callerOf(res);
    const items = deps.sessions ? await deps.sessions.list(caller.accountId) : [];
    res.json({ items: items.map((s) => ({ ...s, clientName: 'Hosted services (gateway)' })) });
  });

  router.delete('/me/sessions/:id', async (req, res) => {
    const caller = callerOf(res);
    if (!SESSION_ID.test(req.params.id) || !deps.sessions) throw sessionNotFound();
    if (!(await deps.sessions.end(caller.accountId, req.params.id))) throw sessionNotFound();
    res.status(204).end();
  });

  router.get('/me/export', async (_req, res) => {
    const caller = callerOf(res);
    const account = await directory.getAccount(caller.accountId);
    if (!account) throw accountNotFound();
    const memberships = await directory.membershipsOf(caller.accountId);
    const subscriptions = (await deps.subscriptions.list()).filter((s) => 'account' in s.holder && s.holder.account === caller.accountId);
    const now = clock.now();
    const usage = await deps.usage.recordsOf(caller.accountId, 0, startOfUtcDay(now) + DAY_MS);
    const auditEntries: AuditRecord[] = [];
    let cursor: string | undefined;
    let scanned = 0;
    do {
      const page = await audit.list({ limit: 1000, cursor });
      scanned += page.items.length;
      auditEntries.push(...page.items.filter((r) => auditAbout(r, caller.accountId)));
      cursor = page.items.length > 0 ? page.next : undefined;
    } while (cursor && scanned < AUDIT_SCAN_LIMIT);
    const sessions = deps.sessions ? await deps.sessions.list(caller.accountId) : [];
    res.attachment('porta-export.json').json({
      exportedAt: new Date(now).toISOString(),
      account,
      memberships,
      subscriptions,
      sessions,
      usage: { records: usage },
      audit: { items: auditEntries, ...(cursor ? { truncated: true } : {}) },
    });
  });

  router.get('/services', (_req, res) => {
    callerOf(res);
    res.json({ items: deps.services.map((s) => ({ id: s.id, name: s.name, kind: s.kind, dedicated: s.dedicated })) });
  });

  router.get('/clients', async (_req, res) => {
    requirePlatformAdmin(callerOf(res));
    const registry = await deps.clients();
    const items = registry.metadata.map((m) => {
      const policy = registry.policies.get(m.client_id);
      const method = m.token_endpoint_auth_method ?? 'client_secret_basic';
      // Built field by field: nothing of the metadata (a secret) passes through unnamed.
      return {
        clientId: m.client_id,
        name: m.client_name ?? m.client_id,
        redirectUris: [...(m.redirect_uris ?? [])],
        postLogoutRedirectUris: [...(m.post_logout_redirect_uris ?? [])],
        grantTypes: [...(m.grant_types ?? [])],
        tokenEndpointAuthMethod: method,
        public: method === 'none',
        firstParty: policy?.firstParty ?? false,
        builtIn: policy?.builtIn ?? false,
      };
    });
    res.json({ items, total: items.length });
  });

  router.post('/accounts/:id/password-reset', async (req, res) => {
    const caller = callerOf(res);
    requirePlatformAdmin(caller);
    parseBody(emptyBody, req);
    const account = await directory.getAccount(req.params.id);
    if (!account) throw accountNotFound();
    if (directory.readOnly) throw new AppError(409, 'read_only_directory', 'Passwords are managed by another system here; reset it there.');
    if (account.status !== 'active') throw new AppError(409, 'account_suspended', 'This account is suspended; reactivate it before sending a password reset.');
    // The same flow as "forgot password" on the login page: a single-use link to the account's own
    // address, at most one mail a minute per account (a second request within it sends nothing).
    await flows.requestPasswordReset(account.username);
    await audit.record({ actor: caller.accountId, action: 'account.password-reset-request', target: { type: 'account', id: account.id }, after: accountSnapshot(account) });
    logger.info({ actor: caller.accountId, accountId: account.id }, 'password reset mail requested by an admin');
    res.status(202).json({ accountId: account.id, sent: true });
  });

  return { router, openapi: selfServiceOpenApi() };
}

function selfServiceOpenApi(): OpenApiFragment {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const items = (name: string) => ({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref(name) } } });
  const idParam = (description: string) => [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description }];
  return {
    tags: [{ name: 'Self-service', description: 'A person\'s own plan, sessions and data; service and client lists.' }],
    paths: {
      '/me/plan': {
        get: operation({
          tag: 'Self-service',
          summary: 'Your plans and each quota with what is used. `used: null` = not known (no storage sample yet; recordings are not metered). storage = latest daily sample; meetingMinutes = longest meeting hosted this month against the per-meeting limit; hostedMinutesPerDay = minutes hosted today.',
          ok: { description: 'Plans and quotas', schema: { type: 'object', properties: { plans: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } } }, quotas: { type: 'array', items: ref('Quota') } } } },
        }),
      },
      '/me/sessions': {
        get: operation({
          tag: 'Self-service',
          summary: 'Your signed-in gateway sessions (created and last-seen times only; never cookies or tokens). IdP sessions are not listed.',
          ok: { description: 'Sessions, newest first', schema: items('SessionSummary') },
        }),
      },
      '/me/sessions/{id}': {
        delete: { ...operation({ tag: 'Self-service', summary: 'Sign out one session in every gateway process', ok: { status: 204, description: 'Ended' }, errors: [503] }), parameters: idParam('Session id from GET /me/sessions') },
      },
      '/me/export': {
        get: operation({
          tag: 'Self-service',
          summary: 'Download your data: account, memberships, subscriptions, sessions, usage records and audit entries about you',
          ok: { description: 'One JSON document (Content-Disposition: attachment)', schema: { type: 'object' } },
        }),
      },
      '/services': {
        get: operation({ tag: 'Self-service', summary: 'The services of this platform', ok: { description: 'Services', schema: items('ServiceSummary') } }),
      },
      '/clients': {
        get: operation({ tag: 'Self-service', summary: 'OIDC clients, configured and built-in, without secrets (platform admins)', ok: { description: 'Clients', schema: items('ClientSummary') } }),
      },
      '/accounts/{id}/password-reset': {
        post: {
          ...operation({ tag: 'Self-service', summary: 'Mail a password reset link to the account (platform admins; at most one mail a minute per account)', body: { type: 'object', additionalProperties: false }, ok: { status: 202, description: 'Mail queued' } }),
          parameters: idParam('Account id'),
        },
      },
    },
    components: {
      schemas: {
        Quota: {
          type: 'object',
          properties: {
            id: { enum: ['storage', 'meetingMinutes', 'hostedMinutesPerDay', 'recordingStorage'] },
            unit: { enum: ['bytes', 'minutes'] },
            used: { type: ['number', 'null'], description: 'null = not known' },
            limit: { type: ['number', 'null'], description: 'null = unlimited, 0 = not included' },
          },
        },
        SessionSummary: {
          type: 'object',
          properties: { id: { type: 'string' }, kind: { const: 'gateway' }, clientName: { type: 'string' }, createdAt: { type: 'integer' }, lastSeen: { type: 'integer' }, expiresAt: { type: 'integer' } },
        },
        ServiceSummary: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, kind: { enum: ['generic', 'webdav', 'bbb'] }, dedicated: { type: 'boolean' } } },
        ClientSummary: {
          type: 'object',
          properties: {
            clientId: { type: 'string' },
            name: { type: 'string' },
            redirectUris: { type: 'array', items: { type: 'string' } },
            postLogoutRedirectUris: { type: 'array', items: { type: 'string' } },
            grantTypes: { type: 'array', items: { type: 'string' } },
            tokenEndpointAuthMethod: { type: 'string' },
            public: { type: 'boolean' },
            firstParty: { type: 'boolean' },
            builtIn: { enum: ['admin-ui', 'gateway', false] },
          },
        },
      },
    },
  };
}
