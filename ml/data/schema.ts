/**
 * The dataset schema: which columns are features (numeric or categorical), which column is the label and
 * which value of it is the positive class (optionally which values are negative), and optionally which column is time (without one, row order is
 * time). It is the contract between a data source and everything downstream, so it is validated with zod
 * at the edge and its errors name the field path and the accepted values.
 */
import { z } from 'zod';
import { parseWith } from './errors';

export const FeatureTypes = { numeric: 'numeric', categorical: 'categorical' } as const;
export type FeatureType = (typeof FeatureTypes)[keyof typeof FeatureTypes];

export const FeatureSpecSchema = z
  .object({
    name: z.string().min(1),
    type: z.enum([FeatureTypes.numeric, FeatureTypes.categorical]),
    /** Declared categories fix the code order and make any other value an error; without them, codes follow first appearance. */
    categories: z.array(z.string()).min(1).optional(),
  })
  .strict();

export const DataSchemaSchema = z
  .object({
    features: z.array(FeatureSpecSchema).min(1),
    label: z
      .object({
        name: z.string().min(1),
        positive: z.string().min(1),
        /**
         * The values of the negative class. Declared, they make any other value an error; without them, the
         * label column may hold the positive value and one other value only (see ml/data/labels.ts).
         */
        negative: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict(),
    time: z.object({ name: z.string().min(1) }).strict().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Map<string, number>();
    s.features.forEach((f, j) => {
      const first = seen.get(f.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['features', j, 'name'], message: `duplicate feature name ${JSON.stringify(f.name)} (also features[${first}].name)` });
      } else seen.set(f.name, j);
      if (f.categories && f.type !== FeatureTypes.categorical) {
        ctx.addIssue({ code: 'custom', path: ['features', j, 'categories'], message: `only allowed when type is "categorical", got type ${JSON.stringify(f.type)}` });
      }
      if (f.categories) {
        const cats = new Set<string>();
        f.categories.forEach((c, k) => {
          if (cats.has(c)) ctx.addIssue({ code: 'custom', path: ['features', j, 'categories', k], message: `duplicate category ${JSON.stringify(c)}` });
          cats.add(c);
        });
      }
    });
    s.label.negative?.forEach((v, k) => {
      if (v === s.label.positive) {
        ctx.addIssue({ code: 'custom', path: ['label', 'negative', k], message: `${JSON.stringify(v)} is the positive value; a value cannot be both` });
      } else if (s.label.negative?.indexOf(v) !== k) {
        ctx.addIssue({ code: 'custom', path: ['label', 'negative', k], message: `duplicate value ${JSON.stringify(v)}` });
      }
    });
    if (seen.has(s.label.name)) {
      ctx.addIssue({ code: 'custom', path: ['label', 'name'], message: `${JSON.stringify(s.label.name)} is also a feature; the label must be a separate column` });
    }
    if (s.time) {
      if (seen.has(s.time.name)) {
        ctx.addIssue({ code: 'custom', path: ['time', 'name'], message: `${JSON.stringify(s.time.name)} is also a feature; the time column must be a separate column` });
      }
      if (s.time.name === s.label.name) {
        ctx.addIssue({ code: 'custom', path: ['time', 'name'], message: `${JSON.stringify(s.time.name)} is the label column; the time column must be a separate column` });
      }
    }
  });

export type FeatureSpec = z.output<typeof FeatureSpecSchema>;
export type DataSchema = z.output<typeof DataSchemaSchema>;

/** Validates a schema (from a config file, a CLI option, JSON), throwing an InputError that names every bad field. */
export function parseDataSchema(input: unknown): DataSchema {
  return parseWith(DataSchemaSchema, input, 'data schema');
}

/** Whether two schemas describe the same columns with the same roles (category lists aside), so their frames can be combined. */
export function sameColumns(a: DataSchema, b: DataSchema): string | undefined {
  if (a.label.name !== b.label.name) return `label.name: ${JSON.stringify(a.label.name)} vs ${JSON.stringify(b.label.name)}`;
  if (a.label.positive !== b.label.positive) return `label.positive: ${JSON.stringify(a.label.positive)} vs ${JSON.stringify(b.label.positive)}`;
  if ((a.time?.name ?? null) !== (b.time?.name ?? null)) return `time.name: ${JSON.stringify(a.time?.name ?? null)} vs ${JSON.stringify(b.time?.name ?? null)}`;
  if (a.features.length !== b.features.length) return `features: ${a.features.length} vs ${b.features.length} columns`;
  for (let j = 0; j < a.features.length; j++) {
    const fa = a.features[j];
    const fb = b.features[j];
    if (fa.name !== fb.name || fa.type !== fb.type) {
      return `features[${j}]: ${fa.name} (${fa.type}) vs ${fb.name} (${fb.type})`;
    }
  }
  return undefined;
}
