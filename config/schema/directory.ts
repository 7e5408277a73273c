import { z } from 'zod';

export const ldapSchema = z
  .object({
    url: z.string().regex(/^ldaps?:\/\//, 'must start with ldap:// or ldaps://').describe('LDAP server, `ldap://host:389` or `ldaps://host:636`.'),
    bindDn: z.string().min(1).describe('DN of the service account Porta binds as.'),
    bindPassword: z.string().min(1).describe('Password of the service account (prefer the PORTA_LDAP_BIND_PASSWORD variable).'),
    baseDn: z.string().min(1).describe('Base DN of the directory, e.g. `dc=example,dc=coop`.'),
    usersDn: z.string().optional().describe('Where accounts live; default `ou=people,<baseDn>`.'),
    groupsDn: z.string().optional().describe('Where collectives and grants live; default `ou=groups,<baseDn>`.'),
    collectivesDn: z
      .string()
      .optional()
      .describe('Where collectives live (one `groupOfNames` each, managers in `owner`, contracted services in `businessCategory`; service grants are `groupOfNames` entries `cn=<collective>-<service>` below it); default `ou=collectives,<groupsDn>`.'),
    adminGroup: z.string().default('porta-admins').describe('`cn` of the `groupOfNames` under groupsDn whose members are platform admins.'),
    suspendedGroup: z.string().default('porta-suspended').describe('`cn` of the `groupOfNames` under groupsDn whose members are suspended (cannot sign in).'),
    unverifiedGroup: z.string().default('porta-unverified').describe('`cn` of the `groupOfNames` under groupsDn whose members have not verified their email yet.'),
    readOnly: z.boolean().default(false).describe('True when another system manages the directory: Porta reads and binds but never writes.'),
    startTls: z.boolean().default(false).describe('Upgrade ldap:// connections with StartTLS.'),
    timeoutMs: z.number().int().positive().default(5000).describe('Timeout of one LDAP operation.'),
    pageSize: z.number().int().positive().default(500).describe('Page size of searches (RFC 2696 paged results).'),
    attributes: z
      .object({
        username: z.string().default('uid').describe('Login name; also the RDN of entries Porta creates.'),
        email: z.string().default('mail').describe('Email address.'),
        name: z.string().default('cn').describe('Display name.'),
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
    tokens: z
      .object({
        verificationTtlSeconds: z.number().int().positive().default(172800).describe('How long an email verification link works.'),
        resetTtlSeconds: z.number().int().positive().default(3600).describe('How long a password reset link works.'),
        invitationTtlSeconds: z.number().int().positive().default(1209600).describe('How long an invitation works.'),
      })
      .strict()
      .default({ verificationTtlSeconds: 172800, resetTtlSeconds: 3600, invitationTtlSeconds: 1209600 })
      .describe('Lifetimes of the single-use links Porta mails.'),
    anonymousIdSecret: z
      .string()
      .min(16, 'must be at least 16 characters')
      .optional()
      .describe('Secret for the anonymous id that keeps a deleted account\'s usage (`anon-<sha256>`); generated and kept in the store when unset.'),
  })
  .strict()
  .superRefine((dir, ctx) => {
    if (dir.kind === 'ldap' && !dir.ldap) ctx.addIssue({ code: 'custom', path: ['ldap'], message: 'is required when directory.kind is ldap' });
  })
  .default({ kind: 'embedded', registration: 'open', tokens: { verificationTtlSeconds: 172800, resetTtlSeconds: 3600, invitationTtlSeconds: 1209600 } });
