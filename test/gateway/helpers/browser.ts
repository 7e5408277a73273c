/** A minimal browser over real HTTP: cookies per origin, manual redirects, HTML-ish Accept. */
export interface Page {
  status: number;
  url: string;
  location?: string;
  headers: Headers;
  body: string;
}

export class Browser {
  private jar = new Map<string, Map<string, string>>();

  cookie(origin: string, name: string): string | undefined {
    return this.jar.get(origin)?.get(name);
  }

  setCookie(origin: string, name: string, value: string): void {
    const cookies = this.jar.get(origin) ?? new Map<string, string>();
    cookies.set(name, value);
    this.jar.set(origin, cookies);
  }

  private remember(origin: string, lines: string[]): void {
    const cookies = this.jar.get(origin) ?? new Map<string, string>();
    for (const line of lines) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = value === '' || attributes.some((a) => /^max-age=(0|-)/i.test(a)) || attributes.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now());
      if (expired) cookies.delete(name);
      else cookies.set(name, value);
    }
    this.jar.set(origin, cookies);
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml', ...init.headers };
    const cookies = this.jar.get(target.origin);
    if (cookies && cookies.size > 0) headers.cookie = [...cookies].map(([n, v]) => `${n}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(target, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.remember(target.origin, res.headers.getSetCookie());
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, url: target.href, location: location ? new URL(location, target).href : undefined, headers: res.headers, body: await res.text() };
  }

  /** Follows redirects until a page answers. */
  async follow(url: string, init: Parameters<Browser['request']>[1] = {}): Promise<Page> {
    let page = await this.request(url, init);
    for (let hops = 0; page.location && hops < 20; hops += 1) page = await this.request(page.location);
    return page;
  }
}
