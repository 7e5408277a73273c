/** Answers in BigBlueButton's own dialect (HTTP 200 + `FAILED` XML), and a page for people. */
import type { Refusal } from '../types.ts';

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function bbbFailed(messageKey: string, message: string): Refusal {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml;charset=utf-8', 'cache-control': 'no-store' },
    body: `<response><returncode>FAILED</returncode><messageKey>${escape(messageKey)}</messageKey><message>${escape(message)}</message></response>`,
  };
}

export function checksumError(): Refusal {
  return bbbFailed('checksumError', 'Checksums do not match');
}

export function meetingPage(status: number, title: string, paragraphs: string[]): Refusal {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style></head>
<body><h1>${escape(title)}</h1>${paragraphs.map((p) => `<p>${escape(p)}</p>`).join('')}</body></html>`;
  return { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" }, body };
}
