/**
 * Error types for the data layer and one formatter that turns zod issues into messages a person can act on:
 * each names the field by its path (`features[1].type`), what was accepted and what arrived. Zod's own
 * messages ("Invalid option") name neither the path nor the offending value, which is what an operator
 * editing a config file needs.
 */
import { z } from 'zod';
import { MlErrorCodes, MlInputError, MlTypeError, type MlErrorCode } from '../errors';

export interface InputIssue {
  /** Dotted path with array indices, e.g. `features[1].type`; the root is `(root)`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Bad structured input (a schema, a policy, generator options): carries every issue, not just the first.
 * The code is INPUT_INVALID unless the caller knows better (PARAM_INVALID for a trainer's parameters).
 */
export class InputError extends MlTypeError {
  readonly issues: readonly InputIssue[];
  constructor(what: string, issues: readonly InputIssue[], code: MlErrorCode = MlErrorCodes.INPUT_INVALID) {
    super(code, `${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'InputError';
    this.issues = issues;
  }
}

/**
 * A CSV that cannot be read as the schema says; `row` is the 1-based data row (the header is row 0). The code
 * is CSV_PARSE for malformed text and wrong values, SCHEMA_MISMATCH for a header that lacks the schema's
 * columns, LABEL_VALUE for a label outside the accepted values.
 */
export class CsvError extends MlInputError {
  constructor(message: string, row?: number, column?: string, code: MlErrorCode = MlErrorCodes.CSV_PARSE) {
    super(code, message, { row, column });
    this.name = 'CsvError';
  }
}

/** Parses `input` with `schema`, or throws an InputError naming each bad field and the accepted values. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string, code: MlErrorCode = MlErrorCodes.INPUT_INVALID): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InputError(
    what,
    result.error.issues.map((issue) => formatIssue(schema, input, issue)),
    code,
  );
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

function formatIssue(root: z.ZodType, input: unknown, issue: z.core.$ZodIssue): InputIssue {
  const path = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  const got = describe(value);
  switch (issue.code) {
    case 'invalid_value':
      return { path, message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}, got ${got}` };
    case 'invalid_type': {
      const expected = issue.expected === 'int' ? 'an integer' : article(issue.expected);
      return { path, message: value.present ? `expected ${expected}, got ${got}` : `required (${expected})` };
    }
    case 'unrecognized_keys': {
      const accepted = acceptedKeys(root, input, issue.path);
      const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
      return {
        path,
        message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}${accepted ? `; accepted fields: ${accepted.join(', ')}` : ''}`,
      };
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      if (issue.origin === 'array') return { path, message: `expected ${op} ${String(bound)} items, got ${got}` };
      if (issue.origin === 'string') return { path, message: `expected a string of length ${op} ${String(bound)}, got ${got}` };
      return { path, message: `expected a number ${op} ${String(bound)}, got ${got}` };
    }
    case 'invalid_union': {
      // A discriminated union names its accepted discriminator values; a plain union does not.
      const options = (issue as { options?: unknown[] }).options;
      if (options) return { path, message: `expected one of ${options.map((v) => JSON.stringify(v)).join(' | ')}, got ${got}` };
      return { path, message: `matches none of the accepted forms, got ${got}` };
    }
    default:
      return { path, message: issue.code === 'custom' ? issue.message : `${issue.message}, got ${got}` };
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let cur: unknown = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || !(p in (cur as object))) return { present: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return { present: cur !== undefined, value: cur };
}

function describe(v: { present: boolean; value: unknown }): string {
  if (!v.present) return 'nothing';
  const x = v.value;
  if (typeof x === 'string') return JSON.stringify(x.length > 60 ? `${x.slice(0, 57)}...` : x);
  if (typeof x === 'number' || typeof x === 'boolean' || x === null) return String(x);
  if (Array.isArray(x)) return `an array of ${x.length} item${x.length === 1 ? '' : 's'}`;
  return typeof x === 'object' ? 'an object' : typeof x;
}

/**
 * The keys an object schema accepts at `path`, found by walking the schema (and, through a discriminated union,
 * the option the input's discriminator picks), so the message can list them.
 */
function acceptedKeys(root: z.ZodType, input: unknown, path: readonly PropertyKey[]): string[] | undefined {
  let s: z.ZodType | undefined = pickOption(unwrap(root), input);
  let cur: unknown = input;
  for (const p of path) {
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<PropertyKey, unknown>)[p] : undefined;
    if (s instanceof z.ZodObject) s = pickOption(unwrap(s.shape[String(p)] as z.ZodType | undefined), cur);
    else if (s instanceof z.ZodArray) s = pickOption(unwrap(s.element as z.ZodType), cur);
    else return undefined;
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

function pickOption(s: z.ZodType | undefined, value: unknown): z.ZodType | undefined {
  if (!(s instanceof z.ZodDiscriminatedUnion)) return s;
  const key = s.def.discriminator;
  const tag = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  for (const option of s.options as z.ZodType[]) {
    if (!(option instanceof z.ZodObject)) continue;
    const d = option.shape[key] as z.ZodType | undefined;
    if (d instanceof z.ZodLiteral && d.def.values.includes(tag as never)) return option;
  }
  return undefined;
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s;
  while (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodNullable) {
    cur = cur.unwrap() as z.ZodType;
  }
  return cur;
}
