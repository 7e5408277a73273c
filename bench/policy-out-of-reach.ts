/**
 * A copy of a test policy whose default rate limit a benchmark never reaches. The benchmarks measure
 * the limiter's cost on every request, not its refusals: a 429 would measure the refusal (the
 * gateway bench's two full gateways share its counters under BENCH_BASELINE; the soak serves more
 * than the ops policy's 100 000 requests a minute).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

export function policyOutOfReach(source: string, target: string): string {
  const policy = parse(readFileSync(source, 'utf8')) as { rateLimits?: { default?: { points?: number } } } | null;
  const limit = policy?.rateLimits?.default;
  if (!limit) throw new Error(`${source} has no rateLimits.default to raise`);
  limit.points = 100_000_000;
  writeFileSync(target, stringify(policy));
  return target;
}
