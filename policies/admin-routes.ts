/**
 * Admin API routes for plans, rules, rate limits and subscriptions. Mounted by the admin API under
 * `/api/v1` after its authentication put a `Caller` in `res.locals.caller`. Everything here is for
 * platform admins only, reads included (rules can reveal how services are protected): no caller
 * gets 401, any other caller 403.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Caller, OpenApiFragment } from '../kernel/caller.ts';
import { badRequest, forbidden, notFound, unauthorized } from '../kernel/errors.ts';
import type { Logger } from '../kernel/logger.ts';
import { apiErrorHandler } from '../kernel/api-errors.ts';
import { silentLogger } from '../kernel/logger.ts';
import { explainAccess, type ExplainDeps } from './explain.ts';
import type { PolicyStore } from './policy-store.ts';
import { policySchema } from './schema.ts';
import type { SubscriptionStore } from './subscription-store.ts';
import { subscriptionInputSchema } from './subscriptions.ts';

export interface PolicyRoutesDeps extends Omit<ExplainDeps, 'policy' | 'subscriptions'> {
  policies: PolicyStore;
  subscriptions: SubscriptionStore;
  logger?: Logger;
}

function platformAdmin(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw unauthorized();
  if (!caller.platformAdmin) throw forbidden('Only platform admins may see or change plans, rules, limits and subscriptions.');
  return caller;
}

/** Every route: check the caller first, then run; errors go to the handler at the end. */
type Handler = (req: Request, res: Response, caller: Caller) => Promise<void>;
const admin = (handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
  try {
    await handler(req, res, platformAdmin(res));
  } catch (error) {
    next(error);
  }
};

function versionParam(req: Request): number {
  const raw = String(req.params.version);
  if (!/^\d{1,12}$/.test(raw) || Number(raw) < 1) throw badRequest('The version must be a positive whole number.', { version: 'must be a positive whole number' });
  return Number(raw);
}

/** `If-Match: "3"` (or 3): the version the admin edited; absent = latest. */
function expectedVersion(req: Request): number | undefined {
  const header = req.get('if-match');
  if (header === undefined || header === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,12})"?$/.exec(header.trim());
  if (!match) throw badRequest('If-Match must be the policy version you edited, e.g. "3".', { 'If-Match': 'must be a policy version' });
  return Number(match[1]);
}

function bodyObject(req: Request): unknown {
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('Send a JSON object (Content-Type: application/json).', { body: 'must be a JSON object' });
  }
  return body;
}

export function policyRoutes(deps: PolicyRoutesDeps): { router: express.Router; openapi: OpenApiFragment } {
  const { policies, subscriptions } = deps;
  const logger = deps.logger ?? silentLogger;
  const explainDeps: ExplainDeps = { ...deps, policy: () => policies.current().compiled, subscriptions };
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));

  router.get('/policy', admin(async (_req, res) => {
    const { version, submitted } = policies.current();
    res.set('ETag', `"${version}"`).json({ version, document: submitted });
  }));

  router.put('/policy', admin(async (req, res, caller) => {
    const record = await policies.update(bodyObject(req), caller.accountId, expectedVersion(req));
    logger.info({ actor: caller.accountId, version: record.version }, 'policy changed');
    const { document: _document, ...summary } = record;
    res.set('ETag', `"${record.version}"`).json(summary);
  }));

  router.get('/policy/history', admin(async (_req, res) => {
    res.json({ items: await policies.history(), current: policies.current().version });
  }));

  router.get('/policy/history/:version', admin(async (req, res) => {
    const version = versionParam(req);
    const record = await policies.getVersion(version);
    if (!record) throw notFound(`There is no policy version ${version}.`);
    res.json(record);
  }));

  router.post('/policy/revert/:version', admin(async (req, res, caller) => {
    const record = await policies.revert(versionParam(req), caller.accountId);
    logger.info({ actor: caller.accountId, version: record.version, revertedTo: record.revertedTo }, 'policy reverted');
    const { document: _document, ...summary } = record;
    res.set('ETag', `"${record.version}"`).json(summary);
  }));

  router.get('/policy/explain', admin(async (req, res) => {
    const query = z
      .object({
        account: z.string().min(1, 'is required'),
        service: z.string().min(1, 'is required'),
        method: z.string().optional(),
        path: z.string().startsWith('/', 'must start with /').optional(),
        amr: z.string().optional(),
      })
      .safeParse(req.query);
    if (!query.success) {
      const fields = Object.fromEntries(query.error.issues.map((i) => [i.path.join('.') || 'query', i.path.length && i.code === 'invalid_type' ? 'is required' : i.message]));
      throw badRequest('Name the account and the service: ?account=<id or username>&service=<service id>.', fields);
    }
    const { amr, ...rest } = query.data;
    res.json(await explainAccess(explainDeps, { ...rest, amr: amr ? amr.split(',').map((m) => m.trim()).filter(Boolean) : undefined }));
  }));

  router.get('/subscriptions', admin(async (req, res) => {
    const account = typeof req.query.account === 'string' ? req.query.account : undefined;
    const collective = typeof req.query.collective === 'string' ? req.query.collective : undefined;
    const items = (await subscriptions.list()).filter(
      (s) => (!account || ('account' in s.holder && s.holder.account === account)) && (!collective || ('collective' in s.holder && s.holder.collective === collective)),
    );
    res.json({ items });
  }));

  router.get('/subscriptions/:id', admin(async (req, res) => {
    const found = await subscriptions.get(String(req.params.id));
    if (!found) throw notFound(`There is no subscription ${String(req.params.id)}.`);
    res.json(found);
  }));

  router.post('/subscriptions', admin(async (req, res, caller) => {
    const created = await subscriptions.create(bodyObject(req), caller.accountId);
    res.status(201).location(`subscriptions/${created.id}`).json(created);
  }));

  router.put('/subscriptions/:id', admin(async (req, res, caller) => {
    res.json(await subscriptions.update(String(req.params.id), bodyObject(req), caller.accountId));
  }));

  router.get('/subscriptions/:id/history', admin(async (req, res) => {
    const items = await subscriptions.history(String(req.params.id));
    if (items.length === 0) throw notFound(`There is no subscription ${String(req.params.id)}.`);
    res.json({ items });
  }));

  router.post('/subscriptions/:id/revert/:version', admin(async (req, res, caller) => {
    const state = await subscriptions.revert(String(req.params.id), versionParam(req), caller.accountId);
    res.json({ subscription: state });
  }));

  router.delete('/subscriptions/:id', admin(async (req, res, caller) => {
    await subscriptions.delete(String(req.params.id), caller.accountId);
    res.status(204).end();
  }));

  // The admin API's error shape, also when this router is mounted on its own.
  router.use(apiErrorHandler(logger));

  return { router, openapi: openApi() };
}

function openApi(): OpenApiFragment {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
  const errors = {
    '400': json(ref('Error'), 'Invalid input; `fields` names each bad field'),
    '401': json(ref('Error'), 'Not signed in'),
    '403': json(ref('Error'), 'Not a platform admin'),
  };
  const tags = ['Policies'];
  const version = { name: 'version', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const input = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return {
    tags: [{ name: 'Policies', description: 'Plans, quotas, rate limits, access rules (versioned) and subscriptions. Platform admins only.' }],
    paths: {
      '/policy': {
        get: { tags, summary: 'The policy in force and its version (also as ETag)', responses: { '200': json({ type: 'object', properties: { version: { type: 'integer' }, document: ref('PolicyDocument') } }), ...errors } },
        put: {
          tags,
          summary: 'Replace the policy with a new version (validated first; nothing changes when invalid)',
          parameters: [{ name: 'If-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'The version you edited; 409 if it is no longer current.' }],
          requestBody: { required: true, content: { 'application/json': { schema: ref('PolicyDocument') } } },
          responses: { '200': json(ref('PolicyVersionSummary')), ...errors, '409': json(ref('Error'), 'Changed by someone else meanwhile') },
        },
      },
      '/policy/history': { get: { tags, summary: 'Every version: who, when, what changed', responses: { '200': json({ type: 'object', properties: { current: { type: 'integer' }, items: { type: 'array', items: ref('PolicyVersionSummary') } } }), ...errors } } },
      '/policy/history/{version}': { get: { tags, summary: 'One version with its full document', parameters: [version], responses: { '200': json(ref('PolicyVersion')), ...errors, '404': json(ref('Error'), 'No such version') } } },
      '/policy/revert/{version}': { post: { tags, summary: 'Restore exactly the document of a version, as a new version', parameters: [version], responses: { '200': json(ref('PolicyVersionSummary')), ...errors, '404': json(ref('Error'), 'No such version') } } },
      '/policy/explain': {
        get: {
          tags,
          summary: 'Why an account may or may not use a service, and with which limits',
          parameters: [
            { name: 'account', in: 'query', required: true, schema: { type: 'string' }, description: 'Account id, username or email' },
            { name: 'service', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'method', in: 'query', schema: { type: 'string', default: 'GET' } },
            { name: 'path', in: 'query', schema: { type: 'string', default: '/' } },
            { name: 'amr', in: 'query', schema: { type: 'string', default: 'pwd' }, description: 'Comma-separated login methods to assume, e.g. pwd,otp' },
          ],
          responses: { '200': json({ type: 'object', properties: { decision: ref('PolicyDecision'), quotaClaim: { type: 'string' }, text: { type: 'string' } } }), ...errors, '404': json(ref('Error'), 'No such account or service') },
        },
      },
      '/subscriptions': {
        get: {
          tags,
          summary: 'Subscriptions, optionally of one account or collective',
          parameters: [{ name: 'account', in: 'query', schema: { type: 'string' } }, { name: 'collective', in: 'query', schema: { type: 'string' } }],
          responses: { '200': json({ type: 'object', properties: { items: { type: 'array', items: ref('Subscription') } } }), ...errors },
        },
        post: { tags, summary: 'Create a subscription', requestBody: { required: true, content: { 'application/json': { schema: ref('SubscriptionInput') } } }, responses: { '201': json(ref('Subscription'), 'Created'), ...errors } },
      },
      '/subscriptions/{id}': {
        get: { tags, summary: 'One subscription', parameters: [id], responses: { '200': json(ref('Subscription')), ...errors, '404': json(ref('Error'), 'Not found') } },
        put: { tags, summary: 'Replace a subscription', parameters: [id], requestBody: { required: true, content: { 'application/json': { schema: ref('SubscriptionInput') } } }, responses: { '200': json(ref('Subscription')), ...errors, '404': json(ref('Error'), 'Not found') } },
        delete: { tags, summary: 'Delete a subscription', parameters: [id], responses: { '204': { description: 'Deleted' }, ...errors, '404': json(ref('Error'), 'Not found') } },
      },
      '/subscriptions/{id}/history': {
        get: { tags, summary: 'Every state of a subscription: who, when, what (also after deletion)', parameters: [id], responses: { '200': json({ type: 'object', properties: { items: { type: 'array', items: ref('SubscriptionVersion') } } }), ...errors, '404': json(ref('Error'), 'Not found') } },
      },
      '/subscriptions/{id}/revert/{version}': {
        post: {
          tags,
          summary: 'Put a subscription back as it was at a version (deleted if it was deleted then), as a new version',
          parameters: [id, version],
          responses: { '200': json({ type: 'object', properties: { subscription: { oneOf: [ref('Subscription'), { type: 'null' }] } } }), ...errors, '404': json(ref('Error'), 'No such version') },
        },
      },
    },
    components: {
      schemas: {
        PolicyDocument: input(policySchema()),
        SubscriptionInput: input(subscriptionInputSchema),
        Subscription: {
          allOf: [ref('SubscriptionInput'), { type: 'object', required: ['id'], properties: { id: { type: 'string' } } }],
        },
        SubscriptionVersion: {
          type: 'object',
          properties: {
            subscriptionId: { type: 'string' },
            version: { type: 'integer' },
            state: { oneOf: [ref('Subscription'), { type: 'null' }], description: 'null = deleted' },
            who: { type: 'string' },
            when: { type: 'integer' },
            action: { enum: ['create', 'update', 'delete', 'revert'] },
            revertedTo: { type: 'integer' },
          },
        },
        PolicyVersionSummary: {
          type: 'object',
          properties: {
            version: { type: 'integer' },
            who: { type: 'string' },
            when: { type: 'integer', description: 'Milliseconds since 1970' },
            action: { enum: ['initial', 'update', 'revert'] },
            revertedTo: { type: 'integer' },
            changes: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, before: {}, after: {} } } },
          },
        },
        PolicyVersion: { allOf: [ref('PolicyVersionSummary'), { type: 'object', properties: { document: ref('PolicyDocument') } }] },
        PolicyDecision: {
          type: 'object',
          properties: {
            effect: { enum: ['allow', 'deny'] },
            rule: { oneOf: [{ const: 'default' }, { type: 'object', properties: { id: { type: 'string' }, position: { type: 'integer' } } }] },
            reason: { type: 'string' },
            wouldAllow: { type: 'string' },
            limits: { type: 'object', description: 'null = unlimited; sizes in bytes' },
          },
        },
      },
    },
  };
}
