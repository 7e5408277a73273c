/** OpenAPI fragment of the directory routes (directory-routes.ts). */
import type { OpenApiFragment } from '../../kernel/caller.ts';
import { operation, PAGING_QUERY, pageOf } from './openapi.ts';
import {
  accountCreateBody,
  accountPatchBody,
  collectiveCreateBody,
  collectivePatchBody,
  grantsBody,
  invitationAcceptBody,
  invitationCreateBody,
  jsonSchema,
  managerBody,
  memberAddBody,
  passwordChangeBody,
  selfPatchBody,
} from './schemas.ts';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const schemas = {
  Account: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      username: { type: 'string' },
      email: { type: 'string' },
      emailVerified: { type: 'boolean' },
      name: { type: 'string' },
      status: { enum: ['active', 'suspended'] },
      platformAdmin: { type: 'boolean' },
      createdAt: { type: 'integer', description: 'ms since the epoch' },
    },
  },
  Membership: { type: 'object', properties: { collectiveId: { type: 'string' }, manager: { type: 'boolean' }, grants: { type: 'array', items: { type: 'string' } } } },
  Member: { allOf: [{ $ref: '#/components/schemas/Account' }, { $ref: '#/components/schemas/Membership' }] },
  Collective: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, services: { type: 'array', items: { type: 'string' }, description: 'Contracted services.' } } },
  Invitation: {
    type: 'object',
    properties: { id: { type: 'string' }, collectiveId: { type: 'string' }, email: { type: 'string' }, invitedBy: { type: 'string' }, createdAt: { type: 'integer' }, expiresAt: { type: 'integer' } },
  },
  AuditRecord: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      time: { type: 'integer' },
      actor: { type: 'string' },
      action: { type: 'string' },
      target: { type: 'object', properties: { type: { type: 'string' }, id: { type: 'string' } } },
      collectiveId: { type: 'string' },
      before: {},
      after: {},
    },
  },
  DeletedAccount: { type: 'object', properties: { accountId: { type: 'string' }, anonymousId: { type: 'string', description: 'Id the usage records are kept under.' } } },
};

const A = 'Accounts';
const C = 'Collectives';
const M = 'Members';
const I = 'Invitations';
const L = 'Audit';

export const directoryOpenApi: OpenApiFragment = {
  tags: [
    { name: A, description: 'Accounts (platform admins) and the caller\'s own account.' },
    { name: C, description: 'Collectives and the services they contracted.' },
    { name: M, description: 'Members, managers and service grants; managers act on their own collectives only.' },
    { name: I, description: 'Single-use, expiring invitations by email.' },
    { name: L, description: 'Audit log and mail outbox.' },
  ],
  components: { schemas },
  paths: {
    '/me': {
      get: operation({ summary: 'The caller\'s account and memberships', tag: A, ok: { description: 'Account', schema: ref('Account') } }),
      patch: operation({ summary: 'Change the caller\'s display name', tag: A, body: jsonSchema(selfPatchBody), ok: { description: 'Account', schema: ref('Account') } }),
      delete: operation({ summary: 'Delete the caller\'s account (personal data removed; usage kept under an anonymous id)', tag: A, ok: { description: 'Deleted', schema: ref('DeletedAccount') } }),
    },
    '/me/password': { post: operation({ summary: 'Change the caller\'s password', tag: A, body: jsonSchema(passwordChangeBody), ok: { status: 204, description: 'Changed' } }) },
    '/accounts': {
      get: operation({ summary: 'Search accounts (platform admins)', tag: A, query: [{ name: 'query', description: 'Part of a username, email or name.' }, ...PAGING_QUERY], ok: { description: 'Page', schema: pageOf('#/components/schemas/Account') } }),
      post: operation({ summary: 'Create an account (platform admins)', tag: A, body: jsonSchema(accountCreateBody), ok: { status: 201, description: 'Created', schema: ref('Account') } }),
    },
    '/accounts/{id}': {
      get: operation({ summary: 'One account with its memberships (platform admins, or the account itself)', tag: A, ok: { description: 'Account', schema: ref('Account') } }),
      patch: operation({ summary: 'Change an account: email, name, verification, suspension, platform admin (platform admins)', tag: A, body: jsonSchema(accountPatchBody), ok: { description: 'Account', schema: ref('Account') } }),
      delete: operation({ summary: 'Delete an account (platform admins)', tag: A, ok: { description: 'Deleted', schema: ref('DeletedAccount') } }),
    },
    '/collectives': {
      get: operation({ summary: 'Collectives: all for platform admins, the caller\'s own otherwise', tag: C, query: PAGING_QUERY, ok: { description: 'Page', schema: pageOf('#/components/schemas/Collective') } }),
      post: operation({ summary: 'Create a collective with its contracted services (platform admins)', tag: C, body: jsonSchema(collectiveCreateBody), ok: { status: 201, description: 'Created', schema: ref('Collective') } }),
    },
    '/collectives/{cid}': {
      get: operation({ summary: 'One collective (its members and platform admins)', tag: C, ok: { description: 'Collective', schema: ref('Collective') } }),
      patch: operation({ summary: 'Rename, or change contracted services (platform admins); grants of dropped services end', tag: C, body: jsonSchema(collectivePatchBody), ok: { description: 'Collective', schema: ref('Collective') } }),
      delete: operation({ summary: 'Delete a collective (platform admins)', tag: C, ok: { status: 204, description: 'Deleted' } }),
    },
    '/collectives/{cid}/members': {
      get: operation({ summary: 'Members with their grants (managers)', tag: M, query: PAGING_QUERY, ok: { description: 'Page', schema: pageOf('#/components/schemas/Member') } }),
      post: operation({ summary: 'Add an existing account (managers)', tag: M, body: jsonSchema(memberAddBody), ok: { status: 201, description: 'Added', schema: ref('Membership') } }),
    },
    '/collectives/{cid}/members/{aid}': { delete: operation({ summary: 'Remove a member (managers), or leave (the member)', tag: M, ok: { status: 204, description: 'Removed' } }) },
    '/collectives/{cid}/members/{aid}/grants': { put: operation({ summary: 'Set the services a member may use: only services the collective contracted (managers)', tag: M, body: jsonSchema(grantsBody), ok: { description: 'Membership', schema: ref('Membership') } }) },
    '/collectives/{cid}/members/{aid}/manager': { put: operation({ summary: 'Appoint or dismiss a manager (managers)', tag: M, body: jsonSchema(managerBody), ok: { description: 'Membership', schema: ref('Membership') } }) },
    '/collectives/{cid}/leave': { post: operation({ summary: 'Leave the collective (the caller)', tag: M, ok: { status: 204, description: 'Left' } }) },
    '/collectives/{cid}/invitations': {
      get: operation({ summary: 'Pending invitations (managers)', tag: I, ok: { description: 'List', schema: pageOf('#/components/schemas/Invitation') } }),
      post: operation({ summary: 'Invite someone by email (managers); the mail carries a single-use, expiring link', tag: I, body: jsonSchema(invitationCreateBody), ok: { status: 201, description: 'Invited', schema: ref('Invitation') } }),
    },
    '/collectives/{cid}/invitations/{iid}': { delete: operation({ summary: 'Withdraw an invitation (managers)', tag: I, ok: { status: 204, description: 'Withdrawn' } }) },
    '/invitations/accept': { post: operation({ summary: 'Accept an invitation with the caller\'s account', tag: I, body: jsonSchema(invitationAcceptBody), ok: { description: 'Joined' }, errors: [410] }) },
    '/audit': { get: operation({ summary: 'Audit log: everything (platform admins) or one collective (its managers)', tag: L, query: [{ name: 'collective', description: 'Only this collective.' }, { name: 'limit', description: 'Page size.' }, { name: 'cursor', description: 'From `next`.' }], ok: { description: 'Page', schema: pageOf('#/components/schemas/AuditRecord') } }) },
    '/collectives/{cid}/audit': { get: operation({ summary: 'Audit log of one collective (its managers)', tag: L, query: [{ name: 'limit', description: 'Page size.' }, { name: 'cursor', description: 'From `next`.' }], ok: { description: 'Page', schema: pageOf('#/components/schemas/AuditRecord') } }) },
    '/outbox': { get: operation({ summary: 'Mails kept in the outbox when no SMTP server is configured (platform admins)', tag: L, query: [{ name: 'to', description: 'Only mails to this address.' }, ...PAGING_QUERY], ok: { description: 'Page' } }) },
  },
};
