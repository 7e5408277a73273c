/** The links Porta puts in its mails; pages served by the IdP (`idp/`). */
export interface AccountLinks {
  verifyEmail(token: string): string;
  resetPassword(token: string): string;
  acceptInvitation(token: string): string;
}

export function linksFor(issuer: string): AccountLinks {
  const base = issuer.replace(/\/+$/, '');
  const link = (path: string) => (token: string) => `${base}${path}?token=${encodeURIComponent(token)}`;
  return { verifyEmail: link('/account/verify-email'), resetPassword: link('/account/reset-password'), acceptInvitation: link('/invitation') };
}
