/**
 * Admin API routes for usage and billing, mounted under `/api/v1` after the admin API put a
 * `Caller` in `res.locals.caller`:
 *   GET /reports/:period          billing report (JSON, or CSV with ?format=csv)   platform admins
 *   GET /usage                    usage totals per account, collective and service  platform admins;
 *                                 managers for a collective they manage (?collective= required)
 *   GET /usage/weights, PUT       the weights of the fee split                       platform admins
 *   GET /me/usage                 the caller's own usage records (an export)          any signed-in caller
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Caller, OpenApiFragment } from '../kernel/caller.ts';
import type { Clock } from '../kernel/clock.ts';
import { systemClock } from '../kernel/clock.ts';
import { badRequest, forbidden, unauthorized } from '../kernel/errors.ts';
import type { Logger } from '../kernel/logger.ts';
import { apiErrorHandler } from '../kernel/api-errors.ts';
import { silentLogger } from '../kernel/logger.ts';
import { weightsSchema } from '../config/schema/metering.ts';
import { DAY_MS, formatDay, parseDay, parsePeriod, startOfDay } from './period.ts';
import { formatReport } from './report-format.ts';
import type { Reporting } from './reports.ts';

export interface UsageRoutesDeps {
  reporting: Reporting;
  clock?: Clock;
  logger?: Logger;
  /** Longest range `/usage` and `/me/usage` read at once, in days (default 400). */
  maxRangeDays?: number;
}

type Handler = (req: Request, res: Response, caller: Caller) => Promise<void>;
const route = (handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
  try {
    const caller = res.locals.caller as Caller | undefined;
    if (!caller) throw unauthorized();
    await handler(req, res, caller);
  } catch (error) {
    next(error);
  }
};

function requirePlatformAdmin(caller: Caller, what: string): void {
  if (!caller.platformAdmin) throw forbidden(`Only platform admins may ${what}.`);
}

function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw badRequest(`${name} must be given once, as text.`, { [name]: 'must be a single value' });
  return value;
}

/** `from` and `to` are days `YYYY-MM-DD`, both included; the result is `[from, to)` in ms. */
function dayRange(req: Request, clock: Clock, maxDays: number, defaultFrom: number): { from: number; to: number } {
  const fromText = queryString(req, 'from');
  const toText = queryString(req, 'to');
  const from = fromText === undefined ? defaultFrom : parseDay(fromText, 'from');
  const to = (toText === undefined ? startOfDay(clock.now()) : parseDay(toText, 'to')) + DAY_MS;
  if (to <= from) throw badRequest('to must not be before from.', { to: 'must not be before from' });
  if (to - from > maxDays * DAY_MS) throw badRequest(`Ask for at most ${maxDays} days at once.`, { from: `range longer than ${maxDays} days` });
  return { from, to };
}

export function usageRoutes(deps: UsageRoutesDeps): { router: express.Router; openapi: OpenApiFragment } {
  const { reporting } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const maxDays = deps.maxRangeDays ?? 400;
  const router = express.Router();
  router.use(express.json({ limit: '64kb' }));

  router.get('/reports/:period', route(async (req, res, caller) => {
    requirePlatformAdmin(caller, 'read billing reports');
    const period = parsePeriod(String(req.params.period)).id;
    const format = queryString(req, 'format') ?? 'json';
    if (format !== 'json' && format !== 'csv') throw badRequest('format must be json or csv.', { format: 'must be json or csv' });
    const report = await reporting.billingReport(period);
    if (format === 'csv') {
      res.type('text/csv; charset=utf-8').attachment(`porta-report-${period}.csv`).send(formatReport(report, 'csv'));
    } else {
      res.json(report);
    }
  }));

  router.get('/usage/weights', route(async (_req, res, caller) => {
    requirePlatformAdmin(caller, 'read the fee split weights');
    res.json(await reporting.weights());
  }));

  router.put('/usage/weights', route(async (req, res, caller) => {
    requirePlatformAdmin(caller, 'change the fee split weights');
    const parsed = weightsSchema.unwrap().required().safeParse(req.body);
    if (!parsed.success) {
      const fields = Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || 'body', i.code === 'invalid_type' ? 'must be a number, 0 or more' : i.message]));
      throw badRequest('Every weight must be a number, 0 or more: requests, bytesInPerMiB, bytesOutPerMiB, storageGiBDays, hostMinutes, participantMinutes.', fields);
    }
    await reporting.setWeights(parsed.data);
    logger.info({ actor: caller.accountId, weights: parsed.data }, 'usage weights changed');
    res.json(parsed.data);
  }));

  router.get('/usage', route(async (req, res, caller) => {
    const collective = queryString(req, 'collective');
    const service = queryString(req, 'service');
    if (!caller.platformAdmin) {
      if (collective === undefined) throw forbidden('Name one of your collectives with ?collective=, or ask a platform admin for all usage.');
      if (!caller.managerOf.includes(collective)) throw forbidden(`You do not manage the collective ${collective}.`);
    }
    const today = startOfDay(clock.now());
    const { from, to } = dayRange(req, clock, maxDays, Date.UTC(new Date(today).getUTCFullYear(), new Date(today).getUTCMonth(), 1));
    const usage = await reporting.usage({ from, to, service, collective });
    res.json({ from: formatDay(from), to: formatDay(to - DAY_MS), ...(service ? { service } : {}), ...(collective ? { collective } : {}), records: usage.records, rows: usage.rows });
  }));

  router.get('/me/usage', route(async (req, res, caller) => {
    const { from, to } = dayRange(req, clock, maxDays, startOfDay(clock.now()) - (maxDays - 1) * DAY_MS);
    const records = await reporting.recordsOf(caller.accountId, from, to);
    res.attachment('porta-usage.json').json({ subject: caller.accountId, from: formatDay(from), to: formatDay(to - DAY_MS), records });
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
    '403': json(ref('Error'), 'Not allowed for this caller'),
  };
  const tags = ['Usage'];
  const day = (name: string, description: string) => ({ name, in: 'query', required: false, schema: { type: 'string', format: 'date' }, description });
  const units = { type: 'object', properties: Object.fromEntries(['requests', 'bytesIn', 'bytesOut', 'storageByteDays', 'hostMinutes', 'participantMinutes'].map((k) => [k, { type: 'number' }])) };
  return {
    tags: [{ name: 'Usage', description: 'Usage records, aggregates and billing reports (fees split among services by use).' }],
    paths: {
      '/reports/{period}': {
        get: {
          tags,
          summary: 'Billing report of a month: fee per subscriber, split among the services they used; totals per service',
          parameters: [
            { name: 'period', in: 'path', required: true, schema: { type: 'string', pattern: '^\\d{4}-\\d{2}$' }, description: 'YYYY-MM' },
            { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'csv'], default: 'json' } },
          ],
          responses: { '200': { description: 'The report', content: { 'application/json': { schema: ref('BillingReport') }, 'text/csv': { schema: { type: 'string' } } } }, ...errors },
        },
      },
      '/usage': {
        get: {
          tags,
          summary: 'Usage totals per account, collective and service over days (platform admins; managers for their collective)',
          parameters: [
            { name: 'service', in: 'query', required: false, schema: { type: 'string' } },
            { name: 'collective', in: 'query', required: false, schema: { type: 'string' }, description: 'Required for managers' },
            day('from', 'First day, YYYY-MM-DD (default: first of this month)'),
            day('to', 'Last day, included (default: today)'),
          ],
          responses: { '200': json({ type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' }, records: { type: 'integer' }, rows: { type: 'array', items: ref('UsageRow') } } }), ...errors },
        },
      },
      '/usage/weights': {
        get: { tags, summary: 'Weights of each unit kind in the fee split', responses: { '200': json(ref('UsageWeights')), ...errors } },
        put: { tags, summary: 'Set the weights of the fee split', requestBody: { required: true, content: { 'application/json': { schema: ref('UsageWeights') } } }, responses: { '200': json(ref('UsageWeights')), ...errors } },
      },
      '/me/usage': {
        get: {
          tags,
          summary: 'Your own usage records, as a download',
          parameters: [day('from', 'First day (default: as far back as records are kept)'), day('to', 'Last day, included (default: today)')],
          responses: { '200': json({ type: 'object', properties: { subject: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, records: { type: 'array', items: ref('UsageRecord') } } }), '401': errors['401'], '400': errors['400'] },
        },
      },
    },
    components: {
      schemas: {
        UsageWeights: z.toJSONSchema(weightsSchema.unwrap(), { io: 'input', unrepresentable: 'any' }),
        UsageRow: { type: 'object', properties: { subject: { type: 'string' }, collective: { type: 'string' }, service: { type: 'string' }, records: { type: 'integer', description: 'Ledger records; one record may count many requests (units.requests): the gateway counts equal requests together per 20 ms.' }, units } },
        UsageRecord: {
          type: 'object',
          properties: {
            id: { type: 'string' }, time: { type: 'integer', description: 'ms since 1970' }, subject: { type: 'string' }, collective: { type: 'string' }, service: { type: 'string' },
            kind: { type: 'string', enum: ['request', 'storage', 'meeting'] }, units, routeClass: { type: 'string' }, method: { type: 'string' }, status: { type: 'integer' }, durationMs: { type: 'number', description: 'Total time of the requests the record counts (units.requests), in ms.' },
          },
        },
        BillingReport: {
          type: 'object',
          description: 'Amounts in cents; each subscriber\'s split sums exactly to its fee (largest remainder).',
          properties: {
            period: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, currency: { type: 'string' }, weights: ref('UsageWeights'),
            subscribers: { type: 'array', items: { type: 'object' } }, services: { type: 'array', items: { type: 'object' } },
            totalFeeCents: { type: 'integer' }, unallocatedCents: { type: 'integer' },
          },
        },
      },
    },
  };
}
