/**
 * The narrow contract between a service enforcer (storage quota, meeting limits) and whatever
 * proxies the request: the gateway pipeline (through `gateway-adapter.ts`) or the small proxy the
 * tests and the benchmark use (`proxy-driver.ts`). An enforcer looks at one request and either
 * refuses it with a ready answer in the service's own dialect (DAV XML, BigBlueButton XML, a page),
 * or lets it through, possibly with a different upstream URL, a metered body and a callback for
 * when the exchange is over.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** The plan limits an enforcer reads (`policies` `Limits`; `null` = unlimited, `0` = none). */
export interface EnforcedLimits {
  /** Plan ids the limits come from. */
  plans: string[];
  storage: number | null;
  meetingMinutes: number | null;
  hostedMinutesPerDay: number | null;
  recordingStorage: number | null;
}

export interface EnforcedRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The normalised path the upstream receives. */
  path: string;
  /** `?…` or empty, as sent by the client. */
  query: string;
  /** The account id of the signed-in caller, if any. */
  subject?: string;
  /** The caller's limits on this service, if known. */
  limits?: EnforcedLimits;
  /** Headers that authenticate the caller to the upstream (identity headers, Basic credentials), for the enforcer's own look-ups. */
  upstreamHeaders: Record<string, string>;
}

/** A complete answer: status, headers and body. */
export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Admission {
  /** Path and query to send upstream instead of the client's. */
  url?: string;
  /** Sent upstream instead of the request itself (a body that counts and stops at a limit). */
  body?: Readable;
  /**
   * Called once when the exchange is over, with the status the client got, or `undefined` when the
   * request was cut off before an answer. Enforcers release reservations here.
   */
  settle?(status: number | undefined): void;
}

export type Outcome = { refuse: Refusal } | { admit: Admission };

export interface ServiceEnforcer {
  admit(request: EnforcedRequest): Promise<Outcome>;
}

export const PASS: Outcome = Object.freeze({ admit: Object.freeze({}) });
