/**
 * Nextcloud's OCS user provisioning API, as an admin (integrations.md §2.6): push a plan's quota to
 * Nextcloud when the plan changes (`PUT /ocs/v1.php/cloud/users/<uid>`, `key=quota&value=5 GB`), so
 * that Nextcloud's own quota (the backstop for writes the gateway cannot see) follows the plan; and
 * read an account's usage for the daily storage sample.
 */
import { formatSize } from '../../../policies/sizes.ts';
import { tag } from '../bbb/api.ts';

export interface NextcloudOcsOptions {
  /** Nextcloud's base URL. */
  url: string;
  adminUser: string;
  adminPassword: string;
}

export class NextcloudOcs {
  private readonly base: string;
  private readonly authorization: string;

  constructor(options: NextcloudOcsOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${options.adminUser}:${options.adminPassword}`).toString('base64')}`;
  }

  private async request(method: string, uid: string, body?: string): Promise<string> {
    const res = await fetch(`${this.base}/ocs/v1.php/cloud/users/${encodeURIComponent(uid)}`, {
      method,
      headers: { authorization: this.authorization, 'ocs-apirequest': 'true', ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body,
    });
    const text = await res.text();
    // OCS v1 answers HTTP 200 with its own status code: 100 means success.
    const status = tag(text, 'statuscode');
    if (!res.ok || status !== '100') throw new Error(`Nextcloud OCS ${method} of user ${uid} failed: HTTP ${res.status}, status ${status ?? '?'} ${tag(text, 'message') ?? ''}`.trim());
    return text;
  }

  /** Sets the account's quota in Nextcloud: bytes, or `null` for unlimited. */
  async setQuota(uid: string, bytes: number | null): Promise<void> {
    const value = bytes === null ? 'none' : formatSize(bytes);
    await this.request('PUT', uid, new URLSearchParams({ key: 'quota', value }).toString());
  }

  /** Bytes the account uses in Nextcloud. */
  async usedBytes(uid: string): Promise<number> {
    const text = await this.request('GET', uid);
    const used = Number(tag(tag(text, 'quota') ?? '', 'used'));
    if (!Number.isFinite(used)) throw new Error(`Nextcloud OCS gave no usage for user ${uid}`);
    return used;
  }
}
