/**
 * One place that turns what an activity body throws into what crosses the activity boundary: an
 * `ApplicationFailure` whose `type` comes from the ErrorTypes catalogue. Bad input (ml/ coded errors, zod
 * errors, storage's bad-input errors) is non-retryable, since a retry reads the same input; an alias found
 * elsewhere than expected is a non-retryable AliasConflict; anything else (I/O, a crashed thread) stays
 * retryable as it was thrown.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import { isMlInputError } from '../ml/errors';
import { StorageError, StorageErrorCode } from '../storage/errors';
import { ErrorTypes, type ErrorType } from './types';

export function badInput(message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorTypes.badInput, message, nonRetryable: true, ...(details !== undefined ? { details: [details] } : {}) });
}

export function failure(type: ErrorType, message: string, options: { nonRetryable?: boolean; details?: unknown } = {}): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: options.nonRetryable ?? false, ...(options.details !== undefined ? { details: [options.details] } : {}) });
}

/** The boundary form of an error thrown inside an activity. */
export function toFailure(e: unknown): unknown {
  if (e instanceof ApplicationFailure || e instanceof CancelledFailure) return e;
  if (isMlInputError(e)) return ApplicationFailure.create({ type: ErrorTypes.badInput, message: (e as Error).message, nonRetryable: true, cause: e as Error });
  if (e instanceof z.ZodError) return badInput(describeZod(e));
  if (e instanceof StorageError) {
    switch (e.code) {
      case StorageErrorCode.ALIAS_CONFLICT:
        return ApplicationFailure.create({ type: ErrorTypes.aliasConflict, message: e.message, nonRetryable: true });
      case StorageErrorCode.BAD_INPUT:
      case StorageErrorCode.BAD_KEY:
      case StorageErrorCode.BAD_URI:
      case StorageErrorCode.BAD_CONFIG:
        return ApplicationFailure.create({ type: ErrorTypes.badInput, message: e.message, nonRetryable: true });
      default:
        return e;
    }
  }
  return e;
}

/** Runs an activity body and converts what it throws (see toFailure). */
export async function guarded<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    throw toFailure(e);
  }
}

export function describeZod(e: z.ZodError, what = 'input'): string {
  return e.issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      const msg = i.code === 'invalid_value' ? `expected one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}` : i.message;
      return `${what}${path}: ${msg}`;
    })
    .join('; ');
}
