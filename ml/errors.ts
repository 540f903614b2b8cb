/**
 * The one catalogue of errors that bad input causes in ml/. Each carries a stable `code`, so the activity layer
 * can mark bad input non-retryable (and reports can group failures) without matching messages, which are for
 * people and may be reworded. Errors that argument checks have always raised as RangeError or TypeError stay
 * instances of those classes (MlRangeError, MlTypeError), so existing `instanceof` checks keep working; every
 * coded error, whatever its built-in base, is `instanceof MlInputError` and passes `isMlInputError`.
 */

export const MlErrorCodes = {
  /** A CSV (or other file) that cannot be read as the schema says: a malformed field, a value of the wrong type. */
  CSV_PARSE: 'CSV_PARSE',
  /** Data whose columns do not match the schema or each other (a missing column, another type, another label). */
  SCHEMA_MISMATCH: 'SCHEMA_MISMATCH',
  /** A label value that is neither the positive class nor an accepted negative one. */
  LABEL_VALUE: 'LABEL_VALUE',
  /** A trainer's or a configuration's parameters are out of range or unknown. */
  PARAM_INVALID: 'PARAM_INVALID',
  /** Arguments of a function (arrays, options, structured input) that break its contract. */
  INPUT_INVALID: 'INPUT_INVALID',
  /** A serialised model that cannot be read: malformed, another schema version, an unknown kind. */
  MODEL_FORMAT: 'MODEL_FORMAT',
  /** Data to predict on lacks the features a model was trained on, or has them with other types. */
  FEATURE_MISMATCH: 'FEATURE_MISMATCH',
} as const;
export type MlErrorCode = (typeof MlErrorCodes)[keyof typeof MlErrorCodes];

/** Where in a file an error is, when it is in a file: the 1-based data row (the header is row 0) and the column. */
export interface ErrorLocation {
  readonly row?: number;
  readonly column?: string;
}

// A brand rather than a class check, because coded errors derive from three built-in classes.
const BRAND = Symbol.for('retrain.ml.MlInputError');

function brand(e: Error, code: MlErrorCode): void {
  Object.defineProperty(e, BRAND, { value: true, enumerable: false });
  // Shown by util.inspect and kept by structured clone of own enumerable properties.
  (e as unknown as { code: MlErrorCode }).code = code;
}

/** Whether `e` is an error that bad input caused (any ml/ coded error), which retrying cannot fix. */
export function isMlInputError(e: unknown): e is MlInputError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * The base of ml/'s coded errors. `e instanceof MlInputError` holds for every coded error, including the
 * RangeError and TypeError kinds below (the check is by brand, so it also survives duplicate module copies).
 */
export class MlInputError extends Error {
  declare readonly code: MlErrorCode;
  readonly row: number | undefined;
  readonly column: string | undefined;

  constructor(code: MlErrorCode, message: string, where: ErrorLocation = {}) {
    super(message);
    this.name = 'MlInputError';
    brand(this, code);
    this.row = where.row;
    this.column = where.column;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses (CsvError) keep the ordinary prototype check; only the base answers for every coded error.
    if (this !== MlInputError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isMlInputError(value);
  }
}

/** A coded RangeError: a value outside what a function accepts (a probability above 1, too few rows). */
export class MlRangeError extends RangeError {
  declare readonly code: MlErrorCode;
  constructor(code: MlErrorCode, message: string) {
    super(message);
    this.name = 'RangeError';
    brand(this, code);
  }
}

/** A coded TypeError: a value of the wrong shape (not a Float64Array, not JSON of a model). */
export class MlTypeError extends TypeError {
  declare readonly code: MlErrorCode;
  constructor(code: MlErrorCode, message: string) {
    super(message);
    this.name = 'TypeError';
    brand(this, code);
  }
}

/** The code of a coded ml/ error, or undefined for anything else (a bug, an I/O failure). */
export function mlErrorCode(e: unknown): MlErrorCode | undefined {
  return isMlInputError(e) ? e.code : undefined;
}
