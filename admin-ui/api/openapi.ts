/**
 * The OpenAPI 3.1 document of the admin API: the merge of every module's fragment, served at
 * `GET /api/v1/openapi.json`. Request body schemas come from the same zod schemas that validate.
 */
import type { OpenApiFragment } from '../../kernel/caller.ts';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string };
  servers: Array<{ url: string }>;
  paths: Record<string, unknown>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string; description?: string }>;
}

export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable, machine-readable code.' },
        message: { type: 'string', description: 'A message a person understands.' },
        fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'Per-field problems (validation).' },
      },
    },
  },
};

/** Merges fragments; a path+method defined twice is a programming error and throws. */
export function buildOpenApi(fragments: OpenApiFragment[], options: { basePath?: string; version?: string } = {}): OpenApiDocument {
  const doc: OpenApiDocument = {
    openapi: '3.1.0',
    info: { title: 'Porta admin API', version: options.version ?? '1', description: 'Accounts, collectives, members, invitations, grants, audit; plus the modules that add routes (policies, usage, billing).' },
    servers: [{ url: options.basePath ?? '/api/v1' }],
    paths: {},
    components: { schemas: { Error: ERROR_SCHEMA }, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from Porta\'s IdP for the resource `porta-admin`.' } } },
    security: [{ bearer: [] }],
    tags: [],
  };
  for (const fragment of fragments) {
    for (const [path, item] of Object.entries(fragment.paths)) {
      const existing = (doc.paths[path] ?? {}) as Record<string, unknown>;
      for (const method of Object.keys(item as Record<string, unknown>)) {
        if (method in existing) throw new Error(`OpenAPI: ${method.toUpperCase()} ${path} is defined twice`);
      }
      doc.paths[path] = { ...existing, ...(item as Record<string, unknown>) };
    }
    Object.assign(doc.components.schemas, fragment.components?.schemas ?? {});
    for (const tag of fragment.tags ?? []) if (!doc.tags.some((t) => t.name === tag.name)) doc.tags.push(tag);
  }
  return doc;
}

/** Small builder for operations, so fragments stay readable. */
export function operation(spec: {
  summary: string;
  tag: string;
  body?: unknown;
  query?: Array<{ name: string; description: string; schema?: unknown }>;
  ok?: { status?: number; description: string; schema?: unknown };
  errors?: number[];
  security?: boolean;
}): Record<string, unknown> {
  const status = String(spec.ok?.status ?? 200);
  const responses: Record<string, unknown> = {
    [status]: { description: spec.ok?.description ?? 'OK', ...(spec.ok?.schema ? { content: { 'application/json': { schema: spec.ok.schema } } } : {}) },
  };
  for (const code of [400, 401, 403, 404, 409, ...(spec.errors ?? [])]) {
    responses[String(code)] ??= { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return {
    summary: spec.summary,
    tags: [spec.tag],
    ...(spec.security === false ? { security: [] } : {}),
    ...(spec.query ? { parameters: spec.query.map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema ?? { type: 'string' } })) } : {}),
    ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: spec.body } } } } : {}),
    responses,
  };
}

export const PAGING_QUERY = [
  { name: 'limit', description: 'Page size (1–500, default 50).', schema: { type: 'integer', minimum: 1, maximum: 500 } },
  { name: 'cursor', description: 'The `next` value of the previous page.' },
];

export function pageOf(itemRef: string): unknown {
  return { type: 'object', required: ['items', 'total'], properties: { items: { type: 'array', items: { $ref: itemRef } }, total: { type: 'integer' }, next: { type: 'string' } } };
}
