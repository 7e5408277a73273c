import { z } from 'zod';

export const ldapSchema = z
  .object({
    url: z.string().regex(/^ldaps?:\/\//, 'must start with ldap:// or ldaps://').describe('LDAP server, `ldap://host:389` or `ldaps://host:636`.'),
    bindDn: z.string().min(1).describe('DN of the service account Porta binds as.'),
    bindPassword: z.string().min(1).describe('Password of the service account (prefer the PORTA_LDAP_BIND_PASSWORD variable).'),
    baseDn: z.string().min(1).describe('Base DN of the directory, e.g. `dc=example,dc=coop`.'),
    usersDn: z.string().optional().describe('Where accounts live; default `ou=people,<baseDn>`.'),
    groupsDn: z.string().optional().describe('Where collectives and grants live; default `ou=groups,<baseDn>`.'),
    readOnly: z.boolean().default(false).describe('True when another system manages the directory: Porta reads and binds but never writes.'),
    startTls: z.boolean().default(false).describe('Upgrade ldap:// connections with StartTLS.'),
    timeoutMs: z.number().int().positive().default(5000).describe('Timeout of one LDAP operation.'),
    pageSize: z.number().int().positive().default(500).describe('Page size of searches (RFC 2696 paged results).'),
    attributes: z
      .object({
        username: z.string().default('uid'),
        email: z.string().default('mail'),
        name: z.string().default('cn'),
        id: z.string().default('entryUUID').describe('Stable, never-reused attribute that becomes the OIDC `sub`.'),
      })
      .strict()
      .default({ username: 'uid', email: 'mail', name: 'cn', id: 'entryUUID' })
      .describe('Attribute names, for directories that use other ones.'),
  })
  .strict();

export const directorySchema = z
  .object({
    kind: z.enum(['embedded', 'ldap']).default('embedded').describe('`embedded`: accounts in the store. `ldap`: accounts and collectives in an LDAP directory.'),
    ldap: ldapSchema.optional().describe('Settings of the `ldap` directory.'),
    registration: z
      .enum(['open', 'invitation', 'closed'])
      .default('open')
      .describe('Self-registration: `open` to anyone, `invitation` only with an invitation, `closed`.'),
  })
  .strict()
  .superRefine((dir, ctx) => {
    if (dir.kind === 'ldap' && !dir.ldap) ctx.addIssue({ code: 'custom', path: ['ldap'], message: 'is required when directory.kind is ldap' });
  })
  .default({ kind: 'embedded', registration: 'open' });
