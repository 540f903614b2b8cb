/**
 * Search attributes for the embedded server's visibility store: the seven indexed value types, the registry of
 * attribute names (system ones, the predefined `Temporal…` ones, and custom ones registered through OperatorService
 * or the `--search-attribute Name=Type` launch flag), and the payload encoding. Values travel as `json/plain`
 * payloads whose `type` metadata names the indexed value type, exactly as the Go server writes them, so that the
 * SDK's `decodeSearchAttributes` and `decodeTypedSearchAttributes` (`@temporalio/common`) read what we return.
 */
import type { temporal } from '@temporalio/proto';

type IPayload = temporal.api.common.v1.IPayload;
type ISearchAttributes = temporal.api.common.v1.ISearchAttributes;
/** The protobuf enum `temporal.api.enums.v1.IndexedValueType` (a number on the wire). */
export type ProtoIndexedValueType = temporal.api.enums.v1.IndexedValueType;

/**
 * The indexed value types by the names the server writes into payload metadata (`Keyword`, `KeywordList`, …).
 * Not the protobuf numbers: convert with {@link toProtoIndexedValueType} / {@link fromProtoIndexedValueType}.
 */
export const IndexedValueType = {
  Text: 'Text',
  Keyword: 'Keyword',
  Int: 'Int',
  Double: 'Double',
  Bool: 'Bool',
  Datetime: 'Datetime',
  KeywordList: 'KeywordList',
} as const;
export type IndexedValueType = (typeof IndexedValueType)[keyof typeof IndexedValueType];

const PROTO_NUMBER: Record<IndexedValueType, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};
const BY_PROTO_NUMBER: ReadonlyMap<number, IndexedValueType> = new Map(
  Object.entries(PROTO_NUMBER).map(([name, n]) => [n, name as IndexedValueType]),
);
const PROTO_NAME_PREFIX = 'INDEXED_VALUE_TYPE_';

export function toProtoIndexedValueType(type: IndexedValueType): ProtoIndexedValueType {
  const n = PROTO_NUMBER[type];
  if (n === undefined) throw new TypeError(`type: expected one of ${Object.keys(PROTO_NUMBER).join(', ')}, got ${String(type)}`);
  return n as ProtoIndexedValueType;
}

/** Accepts the enum number or its proto name (`INDEXED_VALUE_TYPE_KEYWORD_LIST`), as protobufjs may give either. */
export function fromProtoIndexedValueType(value: number | string | null | undefined): IndexedValueType {
  if (typeof value === 'number') {
    const t = BY_PROTO_NUMBER.get(value);
    if (t) return t;
  } else if (typeof value === 'string') {
    const t = parseIndexedValueTypeName(value);
    if (t) return t;
  }
  throw new SearchAttributeError(
    'InvalidArgument',
    `unknown indexed value type ${JSON.stringify(value)}: expected 1 to 7 or one of ${Object.keys(PROTO_NUMBER).join(', ')}`,
  );
}

const NAME_LOOKUP: ReadonlyMap<string, IndexedValueType> = new Map(
  Object.keys(PROTO_NUMBER).map((name) => [name.toLowerCase(), name as IndexedValueType]),
);

/**
 * `keyword`, `KeywordList`, `keyword_list`, `INDEXED_VALUE_TYPE_KEYWORD_LIST` → the type; case-insensitive because
 * the CLI's `--search-attribute` flag is. Returns undefined for anything else.
 */
export function parseIndexedValueTypeName(name: string): IndexedValueType | undefined {
  let s = name.trim();
  if (s.toUpperCase().startsWith(PROTO_NAME_PREFIX)) s = s.slice(PROTO_NAME_PREFIX.length);
  return NAME_LOOKUP.get(s.replace(/_/g, '').toLowerCase());
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

export const SearchAttributeErrorKind = {
  InvalidArgument: 'InvalidArgument',
  AlreadyExists: 'AlreadyExists',
  NotFound: 'NotFound',
} as const;
export type SearchAttributeErrorKind = (typeof SearchAttributeErrorKind)[keyof typeof SearchAttributeErrorKind];

/** `kind` tells the gRPC layer which status to answer with (INVALID_ARGUMENT, ALREADY_EXISTS, NOT_FOUND). */
export class SearchAttributeError extends Error {
  constructor(
    readonly kind: SearchAttributeErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'SearchAttributeError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The built-in attributes

/**
 * System attributes: kept as fields of every visibility record, never set through search-attribute payloads.
 * Names and types follow the Go server's `sadefs.system` map.
 */
export const SYSTEM_SEARCH_ATTRIBUTES: Readonly<Record<string, IndexedValueType>> = Object.freeze({
  WorkflowId: 'Keyword',
  RunId: 'Keyword',
  WorkflowType: 'Keyword',
  StartTime: 'Datetime',
  ExecutionTime: 'Datetime',
  CloseTime: 'Datetime',
  ExecutionStatus: 'Keyword',
  TaskQueue: 'Keyword',
  HistoryLength: 'Int',
  ExecutionDuration: 'Int',
  StateTransitionCount: 'Int',
  HistorySizeBytes: 'Int',
  ParentWorkflowId: 'Keyword',
  ParentRunId: 'Keyword',
  RootWorkflowId: 'Keyword',
  RootRunId: 'Keyword',
});

/**
 * Predefined attributes: server- or SDK-maintained, carried in the search-attribute map like custom ones (the SDK
 * upserts `TemporalChangeVersion` from `patched()`), but reported as system attributes and not registrable.
 */
export const PREDEFINED_SEARCH_ATTRIBUTES: Readonly<Record<string, IndexedValueType>> = Object.freeze({
  TemporalChangeVersion: 'KeywordList',
  BinaryChecksums: 'KeywordList',
  BuildIds: 'KeywordList',
  BatcherNamespace: 'Keyword',
  BatcherUser: 'Keyword',
  TemporalScheduledStartTime: 'Datetime',
  TemporalScheduledById: 'Keyword',
  TemporalSchedulePaused: 'Bool',
  TemporalNamespaceDivision: 'Keyword',
  TemporalPauseInfo: 'KeywordList',
  TemporalReportedProblems: 'KeywordList',
  TemporalWorkerDeploymentVersion: 'Keyword',
  TemporalWorkflowVersioningBehavior: 'Keyword',
  TemporalWorkerDeployment: 'Keyword',
  TemporalUsedWorkerDeploymentVersions: 'KeywordList',
});

/** What `temporal server start-dev` registers in every namespace before any flag is read. */
export const DEV_SERVER_DEFAULT_CUSTOM_ATTRIBUTES: Readonly<Record<string, IndexedValueType>> = Object.freeze({
  CustomKeywordField: 'Keyword',
  CustomStringField: 'Text',
  CustomTextField: 'Text',
  CustomIntField: 'Int',
  CustomDatetimeField: 'Datetime',
  CustomDoubleField: 'Double',
  CustomBoolField: 'Bool',
});

// Field names the server keeps next to the attributes; the Go server refuses them as attribute names.
const RESERVED_NAMES = new Set(['NamespaceId', 'Memo', 'MemoEncoding', 'VisibilityTaskKey']);
const RESERVED_PREFIX = 'Temporal';
// Letters, digits, `_`, `-` and `.`; names with the last two need backticks in queries.
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const MAX_NAME_LENGTH = 255;

export type SearchAttributeCategory = 'system' | 'predefined' | 'custom';

/** One namespace's attributes: the built-in ones plus the custom ones registered so far. */
export class SearchAttributeRegistry {
  private readonly custom = new Map<string, IndexedValueType>();
  /** Grows with every change to the registered attributes, so that what was derived from them can be cached. */
  version = 0;

  /** `defaults: false` leaves out the dev server's `Custom…Field` attributes. */
  constructor(options: { defaults?: boolean } = {}) {
    if (options.defaults !== false) {
      for (const [name, type] of Object.entries(DEV_SERVER_DEFAULT_CUSTOM_ATTRIBUTES)) this.custom.set(name, type);
    }
  }

  typeOf(name: string): IndexedValueType | undefined {
    return SYSTEM_SEARCH_ATTRIBUTES[name] ?? PREDEFINED_SEARCH_ATTRIBUTES[name] ?? this.custom.get(name);
  }

  categoryOf(name: string): SearchAttributeCategory | undefined {
    if (Object.hasOwn(SYSTEM_SEARCH_ATTRIBUTES, name)) return 'system';
    if (Object.hasOwn(PREDEFINED_SEARCH_ATTRIBUTES, name)) return 'predefined';
    if (this.custom.has(name)) return 'custom';
    return undefined;
  }

  /**
   * Registers a custom attribute. Re-adding a name with its current type is a no-op (the Go server skips it too);
   * a different type is ALREADY_EXISTS; built-in, reserved and `Temporal…` names are INVALID_ARGUMENT.
   */
  add(name: string, type: IndexedValueType): void {
    if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH) {
      throw new SearchAttributeError(
        'InvalidArgument',
        `search attribute name ${JSON.stringify(name)} is invalid: expected letters, digits, "_", "-" or ".", starting with a letter or "_", at most ${MAX_NAME_LENGTH} characters`,
      );
    }
    if (!Object.hasOwn(PROTO_NUMBER, type)) {
      throw new SearchAttributeError(
        'InvalidArgument',
        `search attribute ${name}: type must be one of ${Object.keys(PROTO_NUMBER).join(', ')}, got ${String(type)}`,
      );
    }
    const category = this.categoryOf(name);
    if (category === 'system' || category === 'predefined') {
      throw new SearchAttributeError('InvalidArgument', `search attribute ${name} is reserved by the system`);
    }
    if (RESERVED_NAMES.has(name) || name.startsWith(RESERVED_PREFIX)) {
      throw new SearchAttributeError('InvalidArgument', `search attribute ${name} is reserved by the system`);
    }
    const existing = this.custom.get(name);
    if (existing !== undefined && existing !== type) {
      throw new SearchAttributeError(
        'AlreadyExists',
        `search attribute ${name} already exists with type ${existing}, cannot register it as ${type}`,
      );
    }
    if (existing === undefined) this.version++;
    this.custom.set(name, type);
  }

  /** OperatorService.RemoveSearchAttributes: only custom attributes can go. */
  remove(name: string): void {
    if (this.custom.delete(name)) {
      this.version++;
      return;
    }
    const category = this.categoryOf(name);
    if (category) throw new SearchAttributeError('InvalidArgument', `search attribute ${name} is a system attribute and cannot be removed`);
    throw new SearchAttributeError('NotFound', `search attribute ${name} does not exist`);
  }

  /** Parses a `--search-attribute Name=Type` value (see {@link parseSearchAttributeFlag}) and registers it. */
  parseLaunchFlag(flag: string): { name: string; type: IndexedValueType } {
    const parsed = parseSearchAttributeFlag(flag);
    this.add(parsed.name, parsed.type);
    return parsed;
  }

  /** Shaped for OperatorService `ListSearchAttributesResponse` (predefined attributes count as system). */
  list(): {
    systemAttributes: Record<string, ProtoIndexedValueType>;
    customAttributes: Record<string, ProtoIndexedValueType>;
  } {
    const systemAttributes: Record<string, ProtoIndexedValueType> = {};
    for (const [name, type] of Object.entries(SYSTEM_SEARCH_ATTRIBUTES)) systemAttributes[name] = toProtoIndexedValueType(type);
    for (const [name, type] of Object.entries(PREDEFINED_SEARCH_ATTRIBUTES)) systemAttributes[name] = toProtoIndexedValueType(type);
    const customAttributes: Record<string, ProtoIndexedValueType> = {};
    for (const [name, type] of this.custom) customAttributes[name] = toProtoIndexedValueType(type);
    return { systemAttributes, customAttributes };
  }

  /** Shaped for WorkflowService `GetSearchAttributesResponse.keys`: every attribute, system and custom. */
  keys(): Record<string, ProtoIndexedValueType> {
    const { systemAttributes, customAttributes } = this.list();
    return { ...systemAttributes, ...customAttributes };
  }

  /**
   * The type a payload of this name is labelled with on the way out: custom and predefined attributes only, as the
   * Go server's `ApplyTypeMap` asks its type map for the custom and predefined categories.
   */
  payloadTypeOf(name: string): IndexedValueType | undefined {
    return PREDEFINED_SEARCH_ATTRIBUTES[name] ?? this.custom.get(name);
  }

  /** The custom attributes by name, in registration order. */
  customAttributes(): Map<string, IndexedValueType> {
    return new Map(this.custom);
  }
}

/** `Name=Type`, as `@temporalio/testing` passes it to the CLI; the type name is case-insensitive. */
export function parseSearchAttributeFlag(flag: string): { name: string; type: IndexedValueType } {
  const eq = typeof flag === 'string' ? flag.indexOf('=') : -1;
  if (eq <= 0) {
    throw new SearchAttributeError('InvalidArgument', `--search-attribute: expected Name=Type, got ${JSON.stringify(flag)}`);
  }
  const name = flag.slice(0, eq).trim();
  const typeName = flag.slice(eq + 1).trim();
  const type = parseIndexedValueTypeName(typeName);
  if (!type) {
    throw new SearchAttributeError(
      'InvalidArgument',
      `--search-attribute ${name}: type must be one of ${Object.keys(PROTO_NUMBER).join(', ')} (any case), got ${JSON.stringify(typeName)}`,
    );
  }
  return { name, type };
}

// ---------------------------------------------------------------------------------------------------------------
// Values and payloads

/**
 * In-memory values: Keyword and Text are strings, Int and Double numbers (Int beyond 2^53 loses precision, as it
 * does in the SDK), Bool booleans, Datetime epoch milliseconds (fractional for sub-millisecond precision, kept to
 * the microsecond), KeywordList non-empty string arrays.
 */
export type SearchAttributeValue = string | number | boolean | string[];

export interface TypedSearchAttribute {
  type: IndexedValueType;
  value: SearchAttributeValue;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const JSON_PLAIN = utf8Encoder.encode('json/plain');
const TYPE_BYTES = Object.fromEntries(Object.keys(PROTO_NUMBER).map((t) => [t, utf8Encoder.encode(t)])) as Record<IndexedValueType, Uint8Array>;

function decodeText(bytes: Uint8Array | null | undefined): string | undefined {
  if (bytes === null || bytes === undefined) return undefined;
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Decodes the indexed fields of a `SearchAttributes` message (from a start request or an
 * `UpsertWorkflowSearchAttributes` command). A `null` entry in the result means "remove this attribute": the
 * payload was `null`, empty, `binary/null` or an empty list. With a registry the registered type decides how to read
 * the value and unknown names are refused (as the Go server does); without one the payload's `type` metadata must.
 * System attributes (WorkflowId, …) cannot be set this way.
 */
export function decodeSearchAttributes(
  indexedFields: Record<string, IPayload> | null | undefined,
  registry?: SearchAttributeRegistry,
): Map<string, TypedSearchAttribute | null> {
  const out = new Map<string, TypedSearchAttribute | null>();
  if (!indexedFields) return out;
  for (const [name, payload] of Object.entries(indexedFields)) {
    out.set(name, decodeSearchAttribute(name, payload, registry));
  }
  return out;
}

export function decodeSearchAttribute(
  name: string,
  payload: IPayload | null | undefined,
  registry?: SearchAttributeRegistry,
): TypedSearchAttribute | null {
  if (Object.hasOwn(SYSTEM_SEARCH_ATTRIBUTES, name)) {
    throw new SearchAttributeError('InvalidArgument', `${name} attribute can't be set in SearchAttributes (it is a system attribute)`);
  }
  const metadata = payload?.metadata ?? {};
  const metaType = metadata.type ? decodeText(metadata.type) : undefined;
  let type: IndexedValueType | undefined;
  if (registry) {
    type = registry.typeOf(name);
    if (type === undefined) {
      throw new SearchAttributeError('InvalidArgument', `search attribute ${name} is not defined`);
    }
  } else {
    type = metaType === undefined ? undefined : parseIndexedValueTypeName(metaType);
    if (type === undefined) {
      throw new SearchAttributeError(
        'InvalidArgument',
        `search attribute ${name}: payload has no usable "type" metadata (${JSON.stringify(metaType ?? null)}) and no registry was given`,
      );
    }
  }

  const encoding = metadata.encoding ? decodeText(metadata.encoding) : undefined;
  if (encoding === 'binary/null') return null;
  const data = payload?.data;
  if (!data || data.length === 0) return null;
  if (encoding !== undefined && encoding !== 'json/plain') {
    throw new SearchAttributeError('InvalidArgument', `search attribute ${name}: encoding must be json/plain, got ${encoding}`);
  }
  const text = decodeText(data);
  let json: unknown;
  try {
    if (text === undefined) throw new Error('not UTF-8');
    json = JSON.parse(text);
  } catch {
    throw new SearchAttributeError('InvalidArgument', `search attribute ${name}: payload data is not valid JSON`);
  }
  const value = coerceValue(name, type, json);
  return value === null ? null : { type, value };
}

/** Checks a decoded JSON value against the type; a one-element array stands for its element (legacy SDK form). */
function coerceValue(name: string, type: IndexedValueType, json: unknown): SearchAttributeValue | null {
  if (json === null) return null;
  if (type === 'KeywordList') {
    if (Array.isArray(json) && json.every((x) => typeof x === 'string')) return json.length === 0 ? null : [...json];
    throw invalidValue(name, type, json, 'an array of strings');
  }
  let v = json;
  if (Array.isArray(v)) {
    if (v.length === 0) return null;
    if (v.length > 1) throw invalidValue(name, type, json, 'a single value (lists are only allowed for KeywordList)');
    v = v[0];
  }
  switch (type) {
    case 'Keyword':
    case 'Text':
      if (typeof v === 'string') return v;
      throw invalidValue(name, type, json, 'a string');
    case 'Int':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      throw invalidValue(name, type, json, 'an integer');
    case 'Double':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      throw invalidValue(name, type, json, 'a number');
    case 'Bool':
      if (typeof v === 'boolean') return v;
      throw invalidValue(name, type, json, 'true or false');
    case 'Datetime': {
      const ms = typeof v === 'string' ? parseRfc3339(v) : undefined;
      if (ms !== undefined) return ms;
      throw invalidValue(name, type, json, 'an RFC 3339 timestamp string');
    }
  }
}

function invalidValue(name: string, type: IndexedValueType, json: unknown, expected: string): SearchAttributeError {
  return new SearchAttributeError(
    'InvalidArgument',
    `invalid value for search attribute ${name} of type ${type}: ${JSON.stringify(json)}, expected ${expected}`,
  );
}

/**
 * Encodes one value as the server returns it: `json/plain` with `type` metadata. `null`/`undefined` gives the
 * removal payload the SDK itself sends (`null`, no type), so an upsert can be echoed back.
 */
export function encodeSearchAttribute(name: string, type: IndexedValueType, value: unknown): IPayload {
  if (value === null || value === undefined) {
    return { metadata: { encoding: JSON_PLAIN }, data: utf8Encoder.encode('null') };
  }
  let json: string;
  switch (type) {
    case 'Keyword':
    case 'Text':
      if (typeof value !== 'string') throw invalidValue(name, type, value, 'a string');
      json = JSON.stringify(value);
      break;
    case 'Int':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidValue(name, type, value, 'an integer');
      json = JSON.stringify(value);
      break;
    case 'Double':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidValue(name, type, value, 'a finite number');
      json = JSON.stringify(value);
      break;
    case 'Bool':
      if (typeof value !== 'boolean') throw invalidValue(name, type, value, 'true or false');
      json = JSON.stringify(value);
      break;
    case 'Datetime': {
      const ms =
        value instanceof Date ? value.getTime() : typeof value === 'number' ? value : typeof value === 'string' ? parseRfc3339(value) : NaN;
      if (ms === undefined || !Number.isFinite(ms)) throw invalidValue(name, type, String(value), 'epoch milliseconds, a Date or an RFC 3339 string');
      json = JSON.stringify(formatRfc3339(ms));
      break;
    }
    case 'KeywordList':
      if (!Array.isArray(value) || !value.every((x) => typeof x === 'string')) throw invalidValue(name, type, value, 'an array of strings');
      json = JSON.stringify(value);
      break;
    default:
      throw new TypeError(`type: expected one of ${Object.keys(PROTO_NUMBER).join(', ')}, got ${String(type)}`);
  }
  return { metadata: { encoding: JSON_PLAIN, type: utf8Encoder.encode(type) }, data: utf8Encoder.encode(json) };
}

/** A whole map as `SearchAttributes.indexedFields` (for DescribeWorkflowExecution and list results). */
export function encodeSearchAttributes(attributes: ReadonlyMap<string, TypedSearchAttribute>): Record<string, IPayload> {
  const out: Record<string, IPayload> = {};
  for (const [name, { type, value }] of attributes) out[name] = encodeSearchAttribute(name, type, value);
  return out;
}

/**
 * The Go server's `searchattribute.ApplyTypeMap`, which its frontend, history and matching services run on every
 * search-attribute map they answer with (DescribeWorkflowExecution, DescribeSchedule, the history events of
 * GetWorkflowExecutionHistory and of workflow tasks): each payload without `type` metadata whose name is a
 * registered custom or predefined attribute gets the registered type. The data is left as the client wrote it, and
 * so are payloads that already carry a type and names the registry does not know. What is stored keeps no type
 * (history holds what the client sent); this returns a copy with the types, or `sa` itself when none was missing.
 */
export function applyTypeMetadata<T extends ISearchAttributes | null | undefined>(sa: T, registry: SearchAttributeRegistry): T {
  const fields = sa?.indexedFields;
  if (!fields) return sa;
  let out: Record<string, IPayload> | undefined;
  for (const name in fields) {
    const payload = fields[name];
    if (payload?.metadata?.type) continue;
    const type = registry.payloadTypeOf(name);
    if (type === undefined) continue;
    out ??= { ...fields };
    out[name] = { ...payload, metadata: { ...payload?.metadata, type: TYPE_BYTES[type] } };
  }
  return out ? ({ ...sa, indexedFields: out } as T) : sa;
}

/** Applies an upsert (as returned by {@link decodeSearchAttributes}) to a record's map, returning a new map. */
export function mergeSearchAttributes(
  current: ReadonlyMap<string, TypedSearchAttribute>,
  upsert: ReadonlyMap<string, TypedSearchAttribute | null>,
): Map<string, TypedSearchAttribute> {
  const next = new Map(current);
  for (const [name, attr] of upsert) {
    if (attr === null) next.delete(name);
    else next.set(name, attr);
  }
  return next;
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 3339

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * RFC 3339 (with up to nanosecond fractions, as Go's RFC3339Nano) to epoch milliseconds, fractional below the
 * millisecond down to the microsecond. Strict, unlike `Date.parse`: undefined for anything else.
 */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Digits, not float arithmetic, so that .123456 stays 123.456 ms.
  const fraction = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) / 1e3 : 0;
  const whole = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0..99 to 1900..1999.
  const base = year < 100 ? new Date(whole).setUTCFullYear(year) : whole;
  return base - offsetMinutes * 60_000 + fraction;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Epoch milliseconds to RFC 3339 in UTC, fractions trimmed of trailing zeros like Go's RFC3339Nano. */
export function formatRfc3339(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.round((ms - whole) * 1000);
  const iso = new Date(whole + (micros === 1000 ? 1 : 0)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = iso.slice(20, 23) + (micros === 1000 || micros === 0 ? '' : String(micros).padStart(3, '0'));
  const trimmed = frac.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${trimmed ? `.${trimmed}` : ''}Z`;
}
