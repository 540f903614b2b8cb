/**
 * Turning label values into 0/1 by the schema's label spec, one rule for every loader. A value that is not
 * accepted is an error, never a silent 0: with `positive: "up"` on UP/DOWN data every row would otherwise
 * become negative and a model would be trained on one class. With `negative` declared, the accepted values
 * are the positive one and those; without it, the column may hold the positive value and one other value
 * (the first one seen is taken as the negative class), and must hold the positive value at least once.
 */
import type { DataSchema } from './schema';

export type LabelSpec = DataSchema['label'];

/** Where a bad label value is and what it is; the loader turns this into its own error type. */
export interface LabelProblem {
  /** 0-based index among the values coded so far (a loader adds its own row numbering). */
  readonly index: number;
  readonly value: string;
  readonly message: string;
}

export class LabelCoder {
  readonly positive: string;
  private readonly declared: ReadonlySet<string> | undefined;
  /** Without declared negatives, the first other value seen and where; it is the negative class from then on. */
  private implied: string | undefined;
  private impliedAt = -1;
  private sawPositive = false;
  private count = 0;

  constructor(
    private readonly spec: LabelSpec,
    /** How a message names the place of the index-th value: `row 3` in a file, `labels[2]` in an array. */
    private readonly where: (index: number) => string = (i) => `labels[${i}]`,
  ) {
    this.positive = spec.positive;
    this.declared = spec.negative ? new Set(spec.negative) : undefined;
  }

  /** The one negative value when there is exactly one (declared or seen), so a loader can compare it fast. */
  get negative(): string | undefined {
    if (this.declared) return this.declared.size === 1 ? this.spec.negative?.[0] : undefined;
    return this.implied;
  }

  /** 1 for the positive value, 0 for an accepted negative, or a LabelProblem naming the value and the accepted values. */
  code(value: string): 0 | 1 | LabelProblem {
    const index = this.count++;
    if (value === this.positive) {
      this.sawPositive = true;
      return 1;
    }
    if (this.declared) {
      if (this.declared.has(value)) return 0;
      return { index, value, message: `expected ${this.accepted()}, got ${JSON.stringify(value)}${this.caseHint(value)}` };
    }
    if (this.implied === undefined) {
      this.implied = value;
      this.impliedAt = index;
      return 0;
    }
    if (value === this.implied) return 0;
    return {
      index,
      value,
      message:
        `expected ${this.accepted()}, got ${JSON.stringify(value)}${this.caseHint(value)}; ` +
        'without label.negative a label column holds the positive value and one other value, so declare label.negative to accept more',
    };
  }

  /**
   * Called once all values are coded: without declared negatives, a column that never holds the positive value
   * is refused (the positive value is most likely misspelt). Returns the problem, or undefined when all is well.
   */
  finish(): LabelProblem | undefined {
    if (this.declared || this.count === 0 || this.sawPositive || this.implied === undefined) return undefined;
    const value = this.implied;
    return {
      index: this.impliedAt,
      value,
      message:
        `expected the positive value ${JSON.stringify(this.positive)} in at least one row, but every label is ${JSON.stringify(value)} (the first at ${this.where(this.impliedAt)})${this.caseHint(value)}; ` +
        'check label.positive, or declare label.negative to accept a column without positives',
    };
  }

  private accepted(): string {
    const p = `${JSON.stringify(this.positive)} (positive)`;
    if (this.declared) return `${p} or one of ${[...this.declared].map((v) => JSON.stringify(v)).join(', ')} (label.negative)`;
    return `${p} or ${JSON.stringify(this.implied)} (the negative value, seen first at ${this.where(this.impliedAt)})`;
  }

  private caseHint(value: string): string {
    const lower = value.toLowerCase();
    if (lower === this.positive.toLowerCase()) return ` (labels are case-sensitive: it differs from the positive value only in case)`;
    return '';
  }
}
