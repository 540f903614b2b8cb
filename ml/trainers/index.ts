/**
 * The trainers' public entry: both trainers, their models, and `deserializeModel`, which turns any serialised
 * model back into a working one by its `kind`.
 */
import { z } from 'zod';
import { MlErrorCodes, MlTypeError } from '../errors';
import { GbdtModel } from './gbdt';
import { LogisticModel } from './logistic';
import type { Model } from './types';

export * from './types';
export * from './logistic';
export * from './gbdt';

/** The trainer kinds; a model's `kind` is one of these. */
export const ModelKinds = { logistic: 'logistic', gbdt: 'gbdt' } as const;
export type ModelKind = (typeof ModelKinds)[keyof typeof ModelKinds];

const kindSchema = z.object({
  kind: z.enum([ModelKinds.logistic, ModelKinds.gbdt], {
    error: `expected one of "${ModelKinds.logistic}", "${ModelKinds.gbdt}"`,
  }),
});

/**
 * Rebuilds a bare trainer model from `toJSON()` output (or its JSON text); a malformed input raises a TypeError
 * coded MODEL_FORMAT naming the field. A TrainedModel's JSON (version 2) is read by `TrainedModel.fromJSON`.
 */
export function deserializeModel(json: unknown): Model {
  let value = json;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (e) {
      throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `model JSON: expected valid JSON text (${(e as Error).message})`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `model JSON: expected an object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  if ((value as { format?: unknown }).format !== undefined) {
    throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, 'model JSON: this is a TrainedModel (version 2, with feature specs); read it with TrainedModel.fromJSON');
  }
  const r = kindSchema.safeParse(value);
  if (!r.success) {
    throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `model JSON.kind: ${r.error.issues[0].message}, got ${JSON.stringify((value as { kind?: unknown }).kind)}`);
  }
  return r.data.kind === ModelKinds.logistic ? LogisticModel.fromJSON(value) : GbdtModel.fromJSON(value);
}
