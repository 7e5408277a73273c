/**
 * A minimal browser for driving the login pages over real HTTP: a cookie jar that respects paths,
 * manual redirects, and form helpers. No HTML engine: forms are read with small regular expressions.
 */
interface Cookie {
  name: string;
  value: string;
  path: string;
}

export interface Page {
  status: number;
  url: string;
  location?: string;
  headers: Headers;
  body: string;
}

export class Browser {
  private cookies: Cookie[] = [];
  readonly headers: Record<string, string>;

  constructor(headers: Record<string, string> = {}) {
    this.headers = headers;
  }

  cookieNames(): string[] {
    return this.cookies.map((c) => c.name);
  }

  /** The Cookie header this browser sends to `url`. */
  cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [k = '', v = ''] = attribute.split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path));
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const headers: Record<string, string> = { ...this.headers, ...init.headers };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(target, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.store(res.headers.getSetCookie());
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, url: target.href, location: location ? new URL(location, target).href : undefined, headers: res.headers, body: await res.text() };
  }

  /** Follows redirects until a page answers or the next hop starts with `stopAt` (the client's redirect URI). */
  async follow(url: string, stopAt: string[] = [], init: Parameters<Browser['request']>[1] = {}): Promise<Page> {
    let page = await this.request(url, init);
    for (let hops = 0; page.location && hops < 20; hops += 1) {
      if (stopAt.some((prefix) => page.location!.startsWith(prefix))) return page;
      page = await this.request(page.location);
    }
    return page;
  }
}

/** The first form of a page: its action (absolute) and hidden inputs. */
export function readForm(page: Page, actionContains = ''): { action: string; fields: Record<string, string> } {
  const forms = [...page.body.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
  const match = forms.find((f) => (f[1] ?? '').includes(actionContains));
  if (!match) throw new Error(`no form with action containing "${actionContains}" on ${page.url} (status ${page.status}):\n${page.body.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const input of (match[2] ?? '').matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    if (name) fields[name] = value.replace(/&amp;/g, '&');
  }
  return { action: new URL((match[1] ?? '').replace(/&amp;/g, '&'), page.url).href, fields };
}
