/**
 * The storage layer's error catalogue. Every error carries a stable `code` so activities can map it to an
 * `ApplicationFailure` type (and decide retryability) without matching on message text.
 */

export const StorageErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  BAD_URI: 'BAD_URI',
  BAD_KEY: 'BAD_KEY',
  BAD_INPUT: 'BAD_INPUT',
  STORE_CONFLICT: 'STORE_CONFLICT',
  ALIAS_CONFLICT: 'ALIAS_CONFLICT',
  INTEGRITY: 'INTEGRITY',
  CORRUPT: 'CORRUPT',
  BAD_CONFIG: 'BAD_CONFIG',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class NotFoundError extends StorageError {
  constructor(readonly location: string) {
    super(StorageErrorCode.NOT_FOUND, `no object at ${location}`);
  }
}

export class BadUriError extends StorageError {
  constructor(readonly uri: string, expected: string) {
    super(StorageErrorCode.BAD_URI, `bad URI ${JSON.stringify(uri)}: expected ${expected}`);
  }
}

export class BadKeyError extends StorageError {
  constructor(readonly key: string, reason: string) {
    super(
      StorageErrorCode.BAD_KEY,
      `bad key ${JSON.stringify(key)}: ${reason} (expected '/'-separated segments of letters, digits and ._=+@,- not starting with '.')`,
    );
  }
}

export class BadInputError extends StorageError {
  constructor(message: string) {
    super(StorageErrorCode.BAD_INPUT, message);
  }
}

export class BadConfigError extends StorageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(StorageErrorCode.BAD_CONFIG, message, options);
  }
}

/** A compare-and-set document was not at the expected version, or a conditional write kept losing races. */
export class StoreConflictError extends StorageError {
  constructor(
    readonly key: string,
    readonly expectedVersion: string | null,
    message?: string,
  ) {
    super(
      StorageErrorCode.STORE_CONFLICT,
      message ?? `conflicting write to ${key}: expected version ${expectedVersion ?? '(absent)'} but the stored document changed`,
    );
  }
}

/** A model alias was not where the caller expected it to be (someone else moved it first). */
export class AliasConflictError extends StorageError {
  constructor(
    readonly model: string,
    readonly alias: string,
    readonly expected: number | null,
    readonly actual: number | null,
  ) {
    super(
      StorageErrorCode.ALIAS_CONFLICT,
      `alias ${alias} of model ${model} is at ${describe(actual)}, expected ${describe(expected)}`,
    );
  }
}

export class IntegrityError extends StorageError {
  constructor(readonly location: string, expected: string, actual: string) {
    super(StorageErrorCode.INTEGRITY, `content of ${location} has sha256 ${actual}, expected ${expected}`);
  }
}

export class CorruptRecordError extends StorageError {
  constructor(readonly location: string, detail: string) {
    super(StorageErrorCode.CORRUPT, `corrupt record in ${location}: ${detail}`);
  }
}

function describe(version: number | null): string {
  return version === null ? 'no version (unset)' : `version ${version}`;
}
