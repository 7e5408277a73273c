/**
 * Who is calling the admin API, resolved once per request from a verified access token and the
 * directory. Every admin route reads `res.locals.caller` and decides from it; nothing else.
 */
export interface Caller {
  /** Account id (the token's `sub`). */
  accountId: string;
  username: string;
  platformAdmin: boolean;
  /** Collectives this caller manages. */
  managerOf: string[];
  /** Collectives this caller belongs to (managed or not). */
  memberOf: string[];
  /** Authentication methods of the login behind the token (`pwd`, `otp`, `hwk` …). */
  amr: string[];
}

/** An OpenAPI 3.1 fragment contributed by one router module; the admin API merges them. */
export interface OpenApiFragment {
  paths: Record<string, unknown>;
  components?: { schemas?: Record<string, unknown> };
  tags?: Array<{ name: string; description?: string }>;
}
