/**
 * The session cookie: an opaque random value (256 bits), HttpOnly, SameSite=Lax; under https also
 * Secure with the `__Host-` prefix (bound to the exact host, path `/`, no Domain).
 */
export interface CookiePolicy {
  sessionName: string;
  loginName: string;
  secure: boolean;
}

export function cookiePolicy(publicUrl: string): CookiePolicy {
  const secure = publicUrl.startsWith('https:');
  return {
    sessionName: secure ? '__Host-porta_session' : 'porta_session',
    loginName: secure ? '__Host-porta_login' : 'porta_login',
    secure,
  };
}

/** A value randomToken(32) could have produced; anything else is no cookie at all. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The value of cookie `name` in a Cookie header, if it is well formed. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let from = 0;
  while (from < header.length) {
    const at = header.indexOf(name + '=', from);
    if (at === -1) return undefined;
    const boundary = at === 0 || header[at - 1] === ' ' || header[at - 1] === ';';
    const start = at + name.length + 1;
    if (boundary) {
      const end = header.indexOf(';', start);
      const value = header.slice(start, end === -1 ? undefined : end).trim();
      return TOKEN_SHAPE.test(value) ? value : undefined;
    }
    from = start;
  }
  return undefined;
}

/** The Cookie header without cookie `name` (the upstream never sees the gateway's session). */
export function withoutCookie(header: string, name: string): string {
  if (!header.includes(';')) return header.trimStart().startsWith(name + '=') ? '' : header.trim(); // a single cookie
  return header
    .split(';')
    .filter((part) => !part.trimStart().startsWith(name + '='))
    .join(';')
    .trim();
}

export function setCookie(policy: CookiePolicy, name: string, value: string, maxAgeSeconds: number): string {
  return [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`, ...(policy.secure ? ['Secure'] : [])].join('; ');
}

export function clearCookie(policy: CookiePolicy, name: string): string {
  return setCookie(policy, name, '', 0);
}
