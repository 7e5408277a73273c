/** The IdP's Prometheus metrics, in the process-wide registry served at /metrics. */
import { Counter } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.ts';

export const signIns = new Counter({
  name: 'porta_idp_sign_ins_total',
  help: 'Sign-in form submissions, by outcome (success, failure, throttled, unavailable).',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export const grantsRevoked = new Counter({
  name: 'porta_idp_grants_revoked_total',
  help: 'Grants revoked (logout, revocation, or a reused code or refresh token).',
  registers: [metricsRegistry],
});
