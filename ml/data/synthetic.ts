/**
 * Seeded synthetic streams with known concept drift, so that tests and the demo run anywhere and every
 * detector and retraining decision can be checked against the true concept of each row. Two classic
 * generators: SEA concepts (Street and Kim, KDD 2001) and the rotating hyperplane (Hulten, Spencer and
 * Domingos, KDD 2001), each with sudden, gradual or recurring switches between concepts. Features, drift and
 * noise draw from separate generators forked from the seed, so the same seed gives the same features
 * whatever the drift settings, and the labels alone show the drift.
 */
import { z } from 'zod';
import { Rng } from '../random';
import { parseWith } from './errors';
import { type Column, Frame } from './frame';
import { type DataSchema, FeatureTypes } from './schema';

export const DriftModes = { none: 'none', sudden: 'sudden', gradual: 'gradual', recurring: 'recurring' } as const;
export type DriftMode = (typeof DriftModes)[keyof typeof DriftModes];

export const GradualShapes = { sigmoid: 'sigmoid', linear: 'linear' } as const;
export type GradualShape = (typeof GradualShapes)[keyof typeof GradualShapes];

const positions = z
  .array(z.number().int().nonnegative())
  .min(1)
  .refine((a) => a.every((x, i) => i === 0 || x > a[i - 1]), { message: 'expected strictly increasing row positions' });

export const DriftSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal(DriftModes.none) }).strict(),
  /** The next concept takes over at each row in `at`. */
  z.object({ mode: z.literal(DriftModes.sudden), at: positions }).strict(),
  /**
   * Around each row in `at`, the next concept replaces the current one over `width` rows: each row belongs to
   * the new concept with probability 1/(1 + exp(-4 (t - at) / width)) (`sigmoid`, as MOA's ConceptDriftStream),
   * or a linear ramp from at - width/2 to at + width/2.
   */
  z
    .object({
      mode: z.literal(DriftModes.gradual),
      at: positions,
      width: z.number().positive(),
      shape: z.enum([GradualShapes.sigmoid, GradualShapes.linear]).default(GradualShapes.sigmoid),
    })
    .strict(),
  /** Concepts take turns, each for `period` rows, cycling through the concept list. */
  z.object({ mode: z.literal(DriftModes.recurring), period: z.number().int().positive() }).strict(),
]);

export type Drift = z.output<typeof DriftSchema>;
export type DriftInput = z.input<typeof DriftSchema>;

/** SEA's four thresholds in the paper's order (Street and Kim 2001, section 4.1). */
export const SEA_THETAS: readonly number[] = [8, 9, 7, 9.5];

export const SeaOptionsSchema = z
  .object({
    rows: z.number().int().nonnegative(),
    seed: z.number().int(),
    /** Label-flip probability; the paper used 0.1. */
    noise: z.number().min(0).max(1).default(0),
    /** The sequence of concepts (indices into `thetas`) that drift moves through, cycling when it runs out. */
    concepts: z.array(z.number().int().nonnegative()).min(1).default([0, 1, 2, 3]),
    thetas: z.array(z.number()).min(1).default([...SEA_THETAS]),
    drift: DriftSchema.default({ mode: DriftModes.none }),
  })
  .strict()
  .superRefine((o, ctx) => {
    o.concepts.forEach((c, k) => {
      if (c >= o.thetas.length) ctx.addIssue({ code: 'custom', path: ['concepts', k], message: `expected an index into thetas (0..${o.thetas.length - 1}), got ${c}` });
    });
  });

export type SeaOptions = z.input<typeof SeaOptionsSchema>;

export const HyperplaneOptionsSchema = z
  .object({
    rows: z.number().int().nonnegative(),
    seed: z.number().int(),
    dimensions: z.number().int().min(2).default(10),
    /** How many distinct hyperplanes (weight vectors) the drift moves between. */
    concepts: z.number().int().min(1).default(2),
    /** Per-row change of each drifting weight (Hulten et al.'s continuous rotation); 0 keeps each concept fixed. */
    magnitude: z.number().min(0).default(0),
    /** How many of the weights rotate (the first ones); all by default. */
    driftDimensions: z.number().int().nonnegative().optional(),
    /** Per-row probability that a rotating weight reverses direction (MOA's sigmaPercentage, 10%). */
    reversal: z.number().min(0).max(1).default(0.1),
    /** Label-flip probability. */
    noise: z.number().min(0).max(1).default(0),
    drift: DriftSchema.default({ mode: DriftModes.none }),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.driftDimensions !== undefined && o.driftDimensions > o.dimensions) {
      ctx.addIssue({ code: 'custom', path: ['driftDimensions'], message: `expected at most dimensions (${o.dimensions}), got ${o.driftDimensions}` });
    }
  });

export type HyperplaneOptions = z.input<typeof HyperplaneOptionsSchema>;

export interface SyntheticStream {
  /** Features, label (`label`, positive class "1") and time column `t` = row index. */
  readonly frame: Frame;
  /** The concept that generated each row's label (for SEA an index into thetas; for the hyperplane, 0..concepts-1). */
  readonly concept: Int32Array;
}

export interface HyperplaneStream extends SyntheticStream {
  /** Each concept's starting weight vector. */
  readonly weights: readonly Float64Array[];
}

/**
 * Which segment of the drift schedule each row falls in: 0 before the first change, k after the k-th.
 * Draws from `rng` only in gradual mode (one uniform per row).
 */
function segments(drift: Drift, rows: number, rng: Rng): Int32Array {
  const seg = new Int32Array(rows);
  switch (drift.mode) {
    case DriftModes.none:
      break;
    case DriftModes.sudden: {
      let k = 0;
      for (let t = 0; t < rows; t++) {
        while (k < drift.at.length && t >= drift.at[k]) k++;
        seg[t] = k;
      }
      break;
    }
    case DriftModes.recurring:
      for (let t = 0; t < rows; t++) seg[t] = Math.floor(t / drift.period);
      break;
    case DriftModes.gradual: {
      const { at, width, shape } = drift;
      for (let t = 0; t < rows; t++) {
        // One draw per row against every transition: the probabilities fall with k, so the rows that have
        // passed transition k+1 have passed transition k too, and the segment is a count.
        const u = rng.next();
        let k = 0;
        while (k < at.length && u < passed(t, at[k], width, shape)) k++;
        seg[t] = k;
      }
      break;
    }
  }
  return seg;
}

function passed(t: number, at: number, width: number, shape: GradualShape): number {
  if (shape === GradualShapes.sigmoid) return 1 / (1 + Math.exp((-4 * (t - at)) / width));
  const p = (t - (at - width / 2)) / width;
  return p <= 0 ? 0 : p >= 1 ? 1 : p;
}

function streamSchema(names: readonly string[]): DataSchema {
  return {
    features: names.map((name) => ({ name, type: FeatureTypes.numeric })),
    label: { name: 'label', positive: '1' },
    time: { name: 't' },
  };
}

function rowIndexTime(rows: number): Float64Array {
  const t = new Float64Array(rows);
  for (let i = 0; i < rows; i++) t[i] = i;
  return t;
}

/**
 * SEA concepts: three features uniform on [0, 10], the label is 1 when f1 + f2 <= theta (f3 is irrelevant),
 * theta switching among 8, 9, 7 and 9.5 (Street and Kim 2001). The paper flips 10% of labels; `noise` does that.
 */
export function seaStream(options: SeaOptions): SyntheticStream {
  const o = parseWith(SeaOptionsSchema, options, 'SEA options');
  const n = o.rows;
  const root = new Rng(o.seed);
  const featureRng = root.fork();
  const driftRng = root.fork();
  const noiseRng = root.fork();
  const f1 = new Float64Array(n);
  const f2 = new Float64Array(n);
  const f3 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    f1[i] = 10 * featureRng.next();
    f2[i] = 10 * featureRng.next();
    f3[i] = 10 * featureRng.next();
  }
  const seg = segments(o.drift, n, driftRng);
  const concept = new Int32Array(n);
  const labels = new Uint8Array(n);
  const { concepts, thetas, noise } = o;
  for (let i = 0; i < n; i++) {
    const c = concepts[seg[i] % concepts.length];
    concept[i] = c;
    let y = f1[i] + f2[i] <= thetas[c] ? 1 : 0;
    if (noise > 0 && noiseRng.next() < noise) y = 1 - y;
    labels[i] = y;
  }
  const columns: Column[] = [
    { type: FeatureTypes.numeric, name: 'f1', values: f1 },
    { type: FeatureTypes.numeric, name: 'f2', values: f2 },
    { type: FeatureTypes.numeric, name: 'f3', values: f3 },
  ];
  return { frame: new Frame({ schema: streamSchema(['f1', 'f2', 'f3']), columns, labels, time: rowIndexTime(n) }), concept };
}

/**
 * Rotating hyperplane: d features uniform on [0, 1], label 1 when sum w_i x_i >= (1/2) sum w_i, as in MOA's
 * HyperplaneGenerator after Hulten et al. 2001. Each concept is its own weight vector (uniform on [0, 1]^d);
 * with `magnitude` > 0 the first `driftDimensions` weights of every concept also move by ±magnitude per row,
 * each direction reversing with probability `reversal`, which is Hulten et al.'s continuous rotation.
 */
export function hyperplaneStream(options: HyperplaneOptions): HyperplaneStream {
  const o = parseWith(HyperplaneOptionsSchema, options, 'hyperplane options');
  const n = o.rows;
  const d = o.dimensions;
  const root = new Rng(o.seed);
  const featureRng = root.fork();
  const driftRng = root.fork();
  const noiseRng = root.fork();
  const conceptRng = root.fork();
  const rotationRng = root.fork();
  const base: Float64Array[] = [];
  for (let k = 0; k < o.concepts; k++) {
    const w = new Float64Array(d);
    for (let j = 0; j < d; j++) w[j] = conceptRng.next();
    base.push(w);
  }
  const x: Float64Array[] = [];
  for (let j = 0; j < d; j++) x.push(new Float64Array(n));
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[j][i] = featureRng.next();

  const seg = segments(o.drift, n, driftRng);
  const concept = new Int32Array(n);
  const labels = new Uint8Array(n);
  // The rotation is one offset shared by all concepts, so a recurring concept returns as itself when magnitude is 0.
  const rotating = o.magnitude > 0 ? (o.driftDimensions ?? d) : 0;
  const offset = new Float64Array(d);
  const direction = new Float64Array(d).fill(1);
  for (let i = 0; i < n; i++) {
    const c = seg[i] % o.concepts;
    concept[i] = c;
    const w = base[c];
    let dot = 0;
    let sum = 0;
    for (let j = 0; j < d; j++) {
      const wj = w[j] + offset[j];
      dot += wj * x[j][i];
      sum += wj;
    }
    let y = dot >= 0.5 * sum ? 1 : 0;
    if (o.noise > 0 && noiseRng.next() < o.noise) y = 1 - y;
    labels[i] = y;
    for (let j = 0; j < rotating; j++) {
      offset[j] += direction[j] * o.magnitude;
      if (rotationRng.next() < o.reversal) direction[j] = -direction[j];
    }
  }
  const names = Array.from({ length: d }, (_, j) => `x${j + 1}`);
  const columns: Column[] = names.map((name, j) => ({ type: FeatureTypes.numeric, name, values: x[j] }));
  return { frame: new Frame({ schema: streamSchema(names), columns, labels, time: rowIndexTime(n) }), concept, weights: base };
}
