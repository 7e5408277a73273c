/**
 * DN helpers. Values that go into a DN are escaped (RFC 4514) by ldapts' `DN`; DNs read back from
 * the server are compared in a simple normal form (lower case, no spaces around `,` and `=`), which
 * is enough for the DNs Porta builds and for what OpenLDAP and 389-DS return.
 */
import { DN } from 'ldapts';

export function childDn(attribute: string, value: string, parent: string): string {
  return `${new DN({ [attribute]: value }).toString()},${parent}`;
}

export function normaliseDn(dn: string): string {
  return dn.trim().replace(/\s*([,=+])\s*/g, '$1').toLowerCase();
}

/** Splits a DN into its RDN strings, honouring backslash escapes. */
export function splitDn(dn: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\' && i + 1 < dn.length) {
      current += c + dn[i + 1];
      i++;
    } else if (c === ',') {
      parts.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** The attribute and unescaped value of a DN's first RDN (single-valued RDNs only). */
export function firstRdn(dn: string): { attribute: string; value: string } | undefined {
  const rdn = splitDn(dn)[0];
  if (!rdn) return undefined;
  const eq = rdn.indexOf('=');
  if (eq < 1) return undefined;
  const attribute = rdn.slice(0, eq).trim();
  const raw = rdn.slice(eq + 1);
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (raw[i] === '\\' && i + 1 < raw.length) {
      bytes.push(...Buffer.from(raw[i + 1], 'utf8'));
      i++;
    } else bytes.push(...Buffer.from(raw[i], 'utf8'));
  }
  return { attribute, value: Buffer.from(bytes).toString('utf8') };
}
