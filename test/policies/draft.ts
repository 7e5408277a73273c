/** Policy documents as tests break them on purpose: plain parsed YAML, edited by dotted path. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_POLICY_FILE } from '../../policies/load.ts';

export type Draft = Record<string, unknown>;

/** A fresh copy of policies/default.yaml as parsed (sizes still "1 GB"). */
export function defaultDraft(): Draft {
  return parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as Draft;
}

type Container = Record<string, unknown> | unknown[];

function walk(doc: Draft, path: string): { parent: Container; key: string } {
  const keys = path.split('.');
  let node: unknown = doc;
  for (const key of keys.slice(0, -1)) {
    node = (node as Record<string, unknown>)[key];
    if (node === null || typeof node !== 'object') throw new Error(`no ${key} on the way to ${path}`);
  }
  return { parent: node as Container, key: keys[keys.length - 1] };
}

export function read(doc: Draft, path: string): unknown {
  const { parent, key } = walk(doc, path);
  return (parent as Record<string, unknown>)[key];
}

/** Sets the value at `path` (`plans.free.storage`, `rules.0.effect`); `undefined` deletes it. Returns the document. */
export function edit(doc: Draft, path: string, value: unknown): Draft {
  const { parent, key } = walk(doc, path);
  if (value === undefined) delete (parent as Record<string, unknown>)[key];
  else (parent as Record<string, unknown>)[key] = value;
  return doc;
}
