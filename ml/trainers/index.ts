/**
 * The trainers' public entry: both trainers, their models, and `deserializeModel`, which turns any serialised
 * model back into a working one by its `kind`.
 */
import { z } from 'zod';
import { GbdtModel } from './gbdt';
import { LogisticModel } from './logistic';
import type { Model } from './types';

export * from './types';
export * from './logistic';
export * from './gbdt';

export const ModelKind = { logistic: 'logistic', gbdt: 'gbdt' } as const;
export type ModelKind = (typeof ModelKind)[keyof typeof ModelKind];

const kindSchema = z.object({
  kind: z.enum([ModelKind.logistic, ModelKind.gbdt], {
    error: `expected one of "${ModelKind.logistic}", "${ModelKind.gbdt}"`,
  }),
});

/** Rebuilds a model from `toJSON()` output (or its JSON text); a malformed input raises a TypeError naming the field. */
export function deserializeModel(json: unknown): Model {
  let value = json;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (e) {
      throw new TypeError(`model JSON: expected valid JSON text (${(e as Error).message})`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`model JSON: expected an object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const r = kindSchema.safeParse(value);
  if (!r.success) {
    throw new TypeError(`model JSON.kind: ${r.error.issues[0].message}, got ${JSON.stringify((value as { kind?: unknown }).kind)}`);
  }
  return r.data.kind === ModelKind.logistic ? LogisticModel.fromJSON(value) : GbdtModel.fromJSON(value);
}
