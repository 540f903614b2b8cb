/**
 * The shapes that cross module boundaries inside ml/: a dense feature matrix stored column by column (what
 * trainers, drift tests and fairness checks consume) and binary labels. Keeping them here lets the frame, the
 * trainers and the statistics evolve apart.
 */
import { MlErrorCodes, MlRangeError } from './errors';

/** Dense numeric features, column-major: `columns[j][i]` is feature j of row i. Categorical features arrive as codes. */
export interface FeatureMatrix {
  readonly nRows: number;
  readonly names: readonly string[];
  readonly columns: readonly Float64Array[];
}

/** Binary labels, 1 for the positive class. */
export type Labels = Uint8Array;

export function featureMatrix(names: readonly string[], columns: readonly Float64Array[]): FeatureMatrix {
  if (names.length !== columns.length) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `columns: expected ${names.length} columns to match names, got ${columns.length}`);
  }
  const nRows = columns.length ? columns[0].length : 0;
  columns.forEach((c, j) => {
    if (c.length !== nRows) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `columns[${j}] (${names[j]}): expected ${nRows} rows, got ${c.length}`);
  });
  return { nRows, names, columns };
}

/** Rows `index` of a matrix, as a new matrix (for splits and bootstrap samples). */
export function takeRows(x: FeatureMatrix, index: ArrayLike<number>): FeatureMatrix {
  const columns = x.columns.map((c) => {
    const out = new Float64Array(index.length);
    for (let i = 0; i < index.length; i++) out[i] = c[index[i]];
    return out;
  });
  return { nRows: index.length, names: x.names, columns };
}
