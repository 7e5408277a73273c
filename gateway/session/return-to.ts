/**
 * Where a browser may be sent back after signing in: a path on the gateway, or an absolute http(s)
 * URL on the gateway's host or a configured service host. Anything else becomes `/`, so the login
 * flow is never an open redirect.
 */
export function safeReturnTo(value: string | undefined | null, allowedHosts: ReadonlySet<string>): string {
  if (!value) return '/';
  if (value.startsWith('/')) {
    if (value.startsWith('//') || value.startsWith('/\\') || /[\x00-\x1f\\]/.test(value)) return '/';
    return value;
  }
  try {
    const url = new URL(value);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && allowedHosts.has(url.host.toLowerCase()) && !url.username && !url.password) return url.href;
  } catch {
    // not a URL
  }
  return '/';
}
