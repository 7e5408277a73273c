/**
 * The long-lived service connection to the LDAP server, plus short-lived clients for end-user binds.
 *
 * ldapts reconnects transparently when a client is used after the server closed the connection, and
 * with `autoRebind` it replays the service bind. An operation that fails because the connection broke
 * under it is retried once on a fresh client; a second failure is reported as "directory unavailable".
 */
import { Client, InvalidCredentialsError, ResultCodeError } from 'ldapts';
import { AppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { silentLogger } from '../../kernel/logger.ts';

export interface LdapConnectionOptions {
  url: string;
  bindDn: string;
  bindPassword: string;
  timeoutMs: number;
  startTls: boolean;
  logger?: Logger;
}

export const directoryUnavailable = (cause?: unknown) =>
  new AppError(503, 'directory_unavailable', 'The directory is unavailable right now; try again in a moment.', { cause, detail: String(cause) });

export class LdapConnection {
  private readonly options: LdapConnectionOptions;
  private readonly logger: Logger;
  private client?: Client;
  private binding?: Promise<Client>;
  private exclusive: Promise<unknown> = Promise.resolve();

  constructor(options: LdapConnectionOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
  }

  private newClient(autoRebind: boolean): Client {
    return new Client({ url: this.options.url, timeout: this.options.timeoutMs, connectTimeout: this.options.timeoutMs, autoRebind });
  }

  private async bound(): Promise<Client> {
    if (this.client) return this.client;
    this.binding ??= (async () => {
      // autoRebind is not applied after StartTLS (ldapts), so with StartTLS we rebind ourselves on retry.
      const client = this.newClient(!this.options.startTls);
      try {
        if (this.options.startTls) await client.startTLS({});
        await client.bind(this.options.bindDn, this.options.bindPassword);
      } catch (error) {
        await client.unbind().catch(() => undefined);
        throw error;
      }
      this.client = client;
      return client;
    })().finally(() => {
      this.binding = undefined;
    });
    return this.binding;
  }

  private async discard(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.unbind().catch(() => undefined);
  }

  /** Runs `operation` on the service connection. LDAP result errors pass through for the caller to map. */
  async run<T>(operation: (client: Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation(await this.bound());
      } catch (error) {
        if (error instanceof ResultCodeError || error instanceof AppError) throw error;
        await this.discard();
        if (attempt >= 1) {
          this.logger.warn({ err: error }, 'LDAP server unreachable');
          throw directoryUnavailable(error);
        }
      }
    }
  }

  /**
   * Like `run`, but one at a time: OpenLDAP keeps one paged-results cookie per connection, so two
   * paged searches interleaved on one connection invalidate each other.
   */
  async runExclusive<T>(operation: (client: Client) => Promise<T>): Promise<T> {
    const result = this.exclusive.then(() => this.run(operation));
    this.exclusive = result.catch(() => undefined);
    return result;
  }

  /**
   * Checks a user's password by binding as them on a client of its own, closed right after.
   * An empty password is refused before any bind: many servers treat it as an anonymous bind that
   * "succeeds" (RFC 4513 §5.1.2).
   */
  async verifyPassword(dn: string, password: string): Promise<boolean> {
    if (typeof password !== 'string' || password.length === 0 || !dn) return false;
    const client = this.newClient(false);
    try {
      if (this.options.startTls) await client.startTLS({});
      await client.bind(dn, password);
      return true;
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return false;
      if (error instanceof ResultCodeError) return false;
      throw directoryUnavailable(error);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.binding?.catch(() => undefined);
    await this.discard();
  }
}
