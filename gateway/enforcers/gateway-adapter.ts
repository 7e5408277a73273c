/**
 * Plugs a service enforcer (types.ts) into the gateway pipeline's `enforce` step
 * (`gateway/steps/enforce.ts`):
 * - a refusal is thrown as `EnforcerRefusal`, which the gateway's responder sends as it is (DAV XML,
 *   BigBlueButton XML, a page) instead of its own JSON/HTML;
 * - a new upstream URL becomes the scope's path and query (sent upstream by prepare-upstream);
 * - a metered body becomes `scope.upstreamBody` (piped upstream instead of the request);
 * - `settle` runs when the response closes (also when a later step or the upstream failed).
 */
import type { ServiceConfig } from '../types.ts';
import type { RequestScope } from '../scope.ts';
import type { Enforcer } from '../steps/enforce.ts';
import { identityHeadersFor } from '../steps/identity-headers.ts';
import { AppError } from '../../kernel/errors.ts';
import type { EnforcedLimits, EnforcedRequest, Refusal, ServiceEnforcer } from './types.ts';

/** A refusal with its own body, in the service's dialect. */
export class EnforcerRefusal extends AppError {
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(refusal.status, 'limit', 'Refused by the service limits.');
    this.name = 'EnforcerRefusal';
    this.refusal = refusal;
  }
}

function limitsOf(scope: RequestScope): EnforcedLimits | undefined {
  const limits = scope.decision?.limits as Partial<EnforcedLimits> | undefined;
  if (!limits) return undefined;
  const value = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    plans: Array.isArray(limits.plans) ? limits.plans : [],
    storage: value(limits.storage),
    meetingMinutes: value(limits.meetingMinutes),
    hostedMinutesPerDay: value(limits.hostedMinutesPerDay),
    recordingStorage: value(limits.recordingStorage),
  };
}

/** How the upstream knows the caller: the identity headers, plus Basic credentials a sync client sent, or the access token when the service takes it. */
function upstreamHeadersOf(scope: RequestScope, service: ServiceConfig): Record<string, string> {
  const headers = { ...identityHeadersFor(service.identityHeaders, scope.principal) };
  const authorization = scope.req.headers.authorization;
  if (authorization && /^basic /i.test(authorization)) headers.authorization = authorization;
  if (service.passAccessToken && scope.principal?.accessToken) headers.authorization = `Bearer ${scope.principal.accessToken}`;
  return headers;
}

export function asGatewayEnforcer(enforcer: ServiceEnforcer): Enforcer {
  return {
    async beforeProxy(scope: RequestScope): Promise<void> {
      if (scope.mode !== 'proxy' || !scope.res) return;
      const service = scope.service!;
      const request: EnforcedRequest = {
        req: scope.req,
        res: scope.res,
        method: scope.method,
        path: scope.path,
        query: scope.query,
        subject: scope.principal?.subject,
        limits: limitsOf(scope),
        upstreamHeaders: upstreamHeadersOf(scope, service),
      };
      const outcome = await enforcer.admit(request);
      if ('refuse' in outcome) throw new EnforcerRefusal(outcome.refuse);
      const { url, body, settle } = outcome.admit;
      if (url !== undefined) {
        const q = url.indexOf('?');
        scope.path = q < 0 ? url : url.slice(0, q);
        scope.query = q < 0 ? '' : url.slice(q);
      }
      if (body) scope.upstreamBody = body;
      if (settle) {
        const res = scope.res;
        res.once('close', () => settle(res.writableFinished ? res.statusCode : undefined));
      }
    },
  };
}
