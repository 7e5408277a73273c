import { Registry, collectDefaultMetrics, Histogram, Counter } from 'prom-client';

/** One Prometheus registry per process; every part registers its metrics here. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'porta_' });

export const httpRequestDuration = new Histogram({
  name: 'porta_http_request_duration_seconds',
  help: 'Time to answer an HTTP request, by listener and status class.',
  labelNames: ['listener', 'status'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  registers: [metricsRegistry],
});

export const httpRequests = new Counter({
  name: 'porta_http_requests_total',
  help: 'HTTP requests answered, by listener and status class.',
  labelNames: ['listener', 'status'] as const,
  registers: [metricsRegistry],
});
