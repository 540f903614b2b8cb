import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeSearchAttributes as sdkDecodeSearchAttributes,
  decodeTypedSearchAttributes as sdkDecodeTypedSearchAttributes,
  encodeUnifiedSearchAttributes as sdkEncodeSearchAttributes,
} from '@temporalio/common/lib/converter/payload-search-attributes';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import {
  DEV_SERVER_DEFAULT_CUSTOM_ATTRIBUTES,
  IndexedValueType,
  SearchAttributeError,
  SearchAttributeRegistry,
  applyTypeMetadata,
  decodeSearchAttributes,
  encodeSearchAttribute,
  encodeSearchAttributes,
  formatRfc3339,
  fromProtoIndexedValueType,
  mergeSearchAttributes,
  parseRfc3339,
  parseSearchAttributeFlag,
  toProtoIndexedValueType,
  type TypedSearchAttribute,
} from '../../devserver/visibility/search-attributes';

type IPayload = temporal.api.common.v1.IPayload;
const text = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('utf8');

test('indexed value types map to the protobuf IndexedValueType numbers and back', () => {
  // Numbers from temporal/api/enums/v1/common.proto (INDEXED_VALUE_TYPE_TEXT = 1 … KEYWORD_LIST = 7).
  const expected: Record<IndexedValueType, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 };
  for (const t of Object.values(IndexedValueType)) {
    assert.equal(toProtoIndexedValueType(t), expected[t]);
    assert.equal(fromProtoIndexedValueType(expected[t]), t);
  }
  assert.equal(fromProtoIndexedValueType('INDEXED_VALUE_TYPE_KEYWORD_LIST'), 'KeywordList');
  assert.throws(() => fromProtoIndexedValueType(0), SearchAttributeError);
  assert.throws(() => fromProtoIndexedValueType(8), SearchAttributeError);
});

test('a new registry knows the system attributes and the dev server default custom ones', () => {
  const reg = new SearchAttributeRegistry();
  assert.equal(reg.typeOf('WorkflowId'), 'Keyword');
  assert.equal(reg.typeOf('ExecutionStatus'), 'Keyword');
  assert.equal(reg.typeOf('StartTime'), 'Datetime');
  assert.equal(reg.typeOf('ExecutionDuration'), 'Int');
  assert.equal(reg.typeOf('BuildIds'), 'KeywordList');
  assert.equal(reg.typeOf('TemporalChangeVersion'), 'KeywordList');
  assert.equal(reg.typeOf('CustomStringField'), 'Text');
  assert.equal(reg.typeOf('CustomBoolField'), 'Bool');
  assert.equal(reg.typeOf('Nope'), undefined);
  const { systemAttributes, customAttributes } = reg.list();
  assert.equal(systemAttributes.WorkflowId, 2);
  assert.equal(systemAttributes.TemporalChangeVersion, 7);
  assert.deepEqual(Object.keys(customAttributes).sort(), Object.keys(DEV_SERVER_DEFAULT_CUSTOM_ATTRIBUTES).sort());
  assert.equal(customAttributes.CustomDatetimeField, 6);
  assert.equal(reg.keys().CustomIntField, 3);
  assert.equal(reg.keys().RunId, 2);
  assert.deepEqual(new SearchAttributeRegistry({ defaults: false }).list().customAttributes, {});
});

test('adding a custom attribute is idempotent for the same type and refused for a different one', () => {
  const reg = new SearchAttributeRegistry();
  reg.add('ModelName', 'Keyword');
  reg.add('ModelName', 'Keyword');
  assert.equal(reg.typeOf('ModelName'), 'Keyword');
  assert.equal(reg.list().customAttributes.ModelName, 2);
  assert.throws(
    () => reg.add('ModelName', 'Int'),
    (e: unknown) => e instanceof SearchAttributeError && e.kind === 'AlreadyExists' && /ModelName.*Keyword.*Int/.test(e.message),
  );
});

test('system, predefined, reserved and malformed names cannot be registered', () => {
  const reg = new SearchAttributeRegistry();
  for (const name of ['WorkflowId', 'ExecutionStatus', 'BuildIds', 'TemporalChangeVersion', 'TemporalFoo', 'Memo', 'NamespaceId', '', '1abc', 'has space']) {
    assert.throws(
      () => reg.add(name, 'Keyword'),
      (e: unknown) => e instanceof SearchAttributeError && e.kind === 'InvalidArgument',
      name,
    );
  }
  assert.throws(() => reg.add('Good', 'Integer' as IndexedValueType), SearchAttributeError);
});

test('removing works for custom attributes only', () => {
  const reg = new SearchAttributeRegistry();
  reg.remove('CustomIntField');
  assert.equal(reg.typeOf('CustomIntField'), undefined);
  assert.throws(() => reg.remove('CustomIntField'), (e: unknown) => e instanceof SearchAttributeError && e.kind === 'NotFound');
  assert.throws(() => reg.remove('WorkflowId'), (e: unknown) => e instanceof SearchAttributeError && e.kind === 'InvalidArgument');
});

test('the --search-attribute launch flag takes Name=Type with the type in any case', () => {
  const reg = new SearchAttributeRegistry();
  assert.deepEqual(reg.parseLaunchFlag('Approver=keyword'), { name: 'Approver', type: 'Keyword' });
  assert.deepEqual(reg.parseLaunchFlag('Attempts=Int'), { name: 'Attempts', type: 'Int' });
  assert.deepEqual(reg.parseLaunchFlag('Tags=KeywordList'), { name: 'Tags', type: 'KeywordList' });
  assert.deepEqual(reg.parseLaunchFlag('Flags=keyword_list'), { name: 'Flags', type: 'KeywordList' });
  assert.deepEqual(reg.parseLaunchFlag('When=DATETIME'), { name: 'When', type: 'Datetime' });
  assert.equal(reg.typeOf('Approver'), 'Keyword');
  // What @temporalio/testing writes: `${name}=${TypedSearchAttributes.toMetadataType(type)}`.
  for (const t of Object.values(SearchAttributeType)) {
    const flag = `Attr${t}=${TypedSearchAttributes.toMetadataType(t)}`;
    assert.equal(toProtoIndexedValueType(parseSearchAttributeFlag(flag).type), { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 }[t]);
  }
  assert.throws(() => reg.parseLaunchFlag('NoType'), /Name=Type/);
  assert.throws(() => reg.parseLaunchFlag('=Int'), /Name=Type/);
  assert.throws(() => reg.parseLaunchFlag('X=Number'), /type must be one of/);
});

test('RFC 3339 timestamps parse strictly and format like Go RFC3339Nano', () => {
  assert.equal(parseRfc3339('2024-05-01T12:00:00Z'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseRfc3339('2024-05-01T14:30:00+02:30'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseRfc3339('2024-05-01T12:00:00.5Z'), Date.UTC(2024, 4, 1, 12) + 500);
  assert.equal(parseRfc3339('2024-05-01T12:00:00.123456789Z'), Date.UTC(2024, 4, 1, 12) + 123.456);
  assert.equal(parseRfc3339('2024-02-30T00:00:00Z'), undefined);
  assert.equal(parseRfc3339('2024-05-01 12:00:00Z'), undefined);
  assert.equal(parseRfc3339('2024-05-01T12:00:00'), undefined);
  assert.equal(parseRfc3339('May 1, 2024'), undefined);
  assert.equal(formatRfc3339(Date.UTC(2024, 4, 1, 12)), '2024-05-01T12:00:00Z');
  assert.equal(formatRfc3339(Date.UTC(2024, 4, 1, 12) + 120), '2024-05-01T12:00:00.12Z');
  assert.equal(formatRfc3339(Date.UTC(2024, 4, 1, 12) + 123.456), '2024-05-01T12:00:00.123456Z');
});

const samples: Array<[string, IndexedValueType, unknown, unknown]> = [
  // name, type, our in-memory value, what the SDK's typed decoder should give
  ['CustomKeywordField', 'Keyword', 'model-a', 'model-a'],
  ['CustomTextField', 'Text', 'drift detected on feature x', 'drift detected on feature x'],
  ['CustomIntField', 'Int', -42, -42],
  ['CustomDoubleField', 'Double', 0.125, 0.125],
  ['CustomBoolField', 'Bool', false, false],
  ['CustomDatetimeField', 'Datetime', Date.UTC(2024, 4, 1, 12, 30, 15, 250), new Date(Date.UTC(2024, 4, 1, 12, 30, 15, 250))],
  ['Tags', 'KeywordList', ['a', 'b c'], ['a', 'b c']],
];

test('encoded values carry json/plain and the type name in metadata, as the Go server writes them', () => {
  const p = encodeSearchAttribute('CustomIntField', 'Int', 7);
  assert.equal(text(p.metadata?.encoding), 'json/plain');
  assert.equal(text(p.metadata?.type), 'Int');
  assert.equal(text(p.data), '7');
  const d = encodeSearchAttribute('CustomDatetimeField', 'Datetime', Date.UTC(2024, 0, 2, 3, 4, 5));
  assert.equal(text(d.data), '"2024-01-02T03:04:05Z"');
  assert.equal(text(encodeSearchAttribute('Tags', 'KeywordList', ['x']).metadata?.type), 'KeywordList');
  assert.throws(() => encodeSearchAttribute('CustomIntField', 'Int', 1.5), /CustomIntField of type Int/);
  assert.throws(() => encodeSearchAttribute('CustomKeywordField', 'Keyword', 3), /expected a string/);
});

test('what the server encodes decodes in the SDK as searchAttributes and typedSearchAttributes', () => {
  const reg = new SearchAttributeRegistry();
  reg.add('Tags', 'KeywordList');
  const map = new Map<string, TypedSearchAttribute>(
    samples.map(([name, type, value]) => [name, { type, value: value as TypedSearchAttribute['value'] }]),
  );
  const fields = encodeSearchAttributes(map);
  const typed = sdkDecodeTypedSearchAttributes(fields);
  const sdkTypes: Record<IndexedValueType, SearchAttributeType> = {
    Keyword: 'KEYWORD', Text: 'TEXT', Int: 'INT', Double: 'DOUBLE', Bool: 'BOOL', Datetime: 'DATETIME', KeywordList: 'KEYWORD_LIST',
  };
  for (const [name, type, , sdkValue] of samples) {
    assert.deepEqual(typed.get(defineSearchAttributeKey(name, sdkTypes[type])), sdkValue, name);
  }
  assert.equal(typed.getAll().length, samples.length);
  // The deprecated untyped view wraps every value in an array.
  const untyped = sdkDecodeSearchAttributes(fields);
  for (const [name, , , sdkValue] of samples) {
    assert.deepEqual(untyped[name], Array.isArray(sdkValue) ? sdkValue : [sdkValue], name);
  }
  // And the server reads its own output back unchanged.
  const back = decodeSearchAttributes(fields, reg);
  for (const [name, type, value] of samples) assert.deepEqual(back.get(name), { type, value }, name);
});

test('what the SDK sends, typed or untyped, decodes to the registered types', () => {
  const reg = new SearchAttributeRegistry();
  reg.add('Tags', 'KeywordList');
  const when = new Date(Date.UTC(2024, 4, 1, 12, 30, 15, 250));
  const typedFields = sdkEncodeSearchAttributes(undefined, [
    { key: defineSearchAttributeKey('CustomKeywordField', SearchAttributeType.KEYWORD), value: 'model-a' },
    { key: defineSearchAttributeKey('CustomIntField', SearchAttributeType.INT), value: 3 },
    { key: defineSearchAttributeKey('CustomDoubleField', SearchAttributeType.DOUBLE), value: 2.5 },
    { key: defineSearchAttributeKey('CustomBoolField', SearchAttributeType.BOOL), value: true },
    { key: defineSearchAttributeKey('CustomDatetimeField', SearchAttributeType.DATETIME), value: when },
    { key: defineSearchAttributeKey('CustomTextField', SearchAttributeType.TEXT), value: 'hello world' },
    { key: defineSearchAttributeKey('Tags', SearchAttributeType.KEYWORD_LIST), value: ['p', 'q'] },
  ]);
  const decoded = decodeSearchAttributes(typedFields as Record<string, IPayload>, reg);
  assert.deepEqual(decoded.get('CustomKeywordField'), { type: 'Keyword', value: 'model-a' });
  assert.deepEqual(decoded.get('CustomIntField'), { type: 'Int', value: 3 });
  assert.deepEqual(decoded.get('CustomDoubleField'), { type: 'Double', value: 2.5 });
  assert.deepEqual(decoded.get('CustomBoolField'), { type: 'Bool', value: true });
  assert.deepEqual(decoded.get('CustomDatetimeField'), { type: 'Datetime', value: when.getTime() });
  assert.deepEqual(decoded.get('CustomTextField'), { type: 'Text', value: 'hello world' });
  assert.deepEqual(decoded.get('Tags'), { type: 'KeywordList', value: ['p', 'q'] });
  // The deprecated `searchAttributes` option sends one-element arrays without type metadata.
  const untyped = sdkEncodeSearchAttributes({ CustomKeywordField: ['x'], CustomIntField: [5], CustomDatetimeField: [when], Tags: ['a', 'b'] });
  const u = decodeSearchAttributes(untyped as Record<string, IPayload>, reg);
  assert.deepEqual(u.get('CustomKeywordField'), { type: 'Keyword', value: 'x' });
  assert.deepEqual(u.get('CustomIntField'), { type: 'Int', value: 5 });
  assert.deepEqual(u.get('CustomDatetimeField'), { type: 'Datetime', value: when.getTime() });
  assert.deepEqual(u.get('Tags'), { type: 'KeywordList', value: ['a', 'b'] });
});

test('an upsert with a null or empty value removes the attribute', () => {
  const reg = new SearchAttributeRegistry();
  const removal = sdkEncodeSearchAttributes(undefined, [
    { key: defineSearchAttributeKey('CustomIntField', SearchAttributeType.INT), value: null },
  ]) as Record<string, IPayload>;
  const upsert = decodeSearchAttributes(
    {
      ...removal,
      CustomKeywordField: { metadata: {}, data: new Uint8Array() },
      CustomBoolField: { metadata: { encoding: Buffer.from('binary/null') } },
      CustomTextField: encodeSearchAttribute('CustomTextField', 'Text', 'kept'),
    },
    reg,
  );
  assert.equal(upsert.get('CustomIntField'), null);
  assert.equal(upsert.get('CustomKeywordField'), null);
  assert.equal(upsert.get('CustomBoolField'), null);
  const before = new Map<string, TypedSearchAttribute>([
    ['CustomIntField', { type: 'Int', value: 1 }],
    ['CustomKeywordField', { type: 'Keyword', value: 'k' }],
    ['CustomDoubleField', { type: 'Double', value: 1.5 }],
  ]);
  const after = mergeSearchAttributes(before, upsert);
  assert.deepEqual([...after.keys()].sort(), ['CustomDoubleField', 'CustomTextField']);
  assert.equal(before.size, 3);
});

test('decoding refuses unknown attributes, system attributes and values of the wrong type', () => {
  const reg = new SearchAttributeRegistry();
  const kw = encodeSearchAttribute('X', 'Keyword', 'v');
  assert.throws(() => decodeSearchAttributes({ Unknown: kw }, reg), /Unknown is not defined/);
  assert.throws(() => decodeSearchAttributes({ WorkflowId: kw }, reg), /system attribute/);
  assert.throws(() => decodeSearchAttributes({ CustomIntField: kw }, reg), /CustomIntField of type Int/);
  assert.throws(() => decodeSearchAttributes({ CustomIntField: encodeSearchAttribute('X', 'Double', 1.5) }, reg), /expected an integer/);
  assert.throws(
    () => decodeSearchAttributes({ CustomKeywordField: encodeSearchAttribute('X', 'KeywordList', ['a', 'b']) }, reg),
    /lists are only allowed for KeywordList/,
  );
  assert.throws(
    () => decodeSearchAttributes({ CustomDatetimeField: encodeSearchAttribute('X', 'Keyword', 'yesterday') }, reg),
    /RFC 3339/,
  );
  assert.throws(() => decodeSearchAttributes({ CustomIntField: { metadata: {}, data: Buffer.from('{') } }, reg), /not valid JSON/);
  // Without a registry the metadata type decides, and must be there.
  assert.deepEqual(decodeSearchAttributes({ Anything: kw }).get('Anything'), { type: 'Keyword', value: 'v' });
  assert.throws(() => decodeSearchAttributes({ Anything: { metadata: {}, data: Buffer.from('"v"') } }), /no usable "type" metadata/);
});

test('applyTypeMetadata labels untyped payloads of registered names with their type, as the Go server ApplyTypeMap', () => {
  const reg = new SearchAttributeRegistry();
  reg.add('Tags', 'KeywordList');
  const untyped = (json: string): IPayload => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(json) });
  const sa = {
    indexedFields: {
      Tags: untyped('["a"]'),
      CustomDatetimeField: untyped('["2024-01-02T03:04:05.000Z"]'),
      CustomIntField: untyped('null'),
      // Already typed (even wrongly): left alone. Unknown and system names: left alone.
      CustomBoolField: encodeSearchAttribute('CustomBoolField', 'Keyword', 'x'),
      Unknown: untyped('"u"'),
      WorkflowId: untyped('"w"'),
      TemporalChangeVersion: untyped('["v1"]'),
    },
  };
  const before = JSON.stringify(sa);
  const out = applyTypeMetadata(sa, reg)!.indexedFields!;
  assert.equal(JSON.stringify(sa), before, 'the input is not changed');
  const types = Object.fromEntries(Object.entries(out).map(([name, p]) => [name, p.metadata?.type ? text(p.metadata.type) : undefined]));
  assert.deepEqual(types, {
    Tags: 'KeywordList',
    CustomDatetimeField: 'Datetime',
    CustomIntField: 'Int',
    CustomBoolField: 'Keyword',
    Unknown: undefined,
    WorkflowId: undefined,
    TemporalChangeVersion: 'KeywordList',
  });
  assert.equal(text(out.CustomDatetimeField.data), '["2024-01-02T03:04:05.000Z"]', 'data as sent');
  assert.equal(text(out.Tags.metadata?.encoding), 'json/plain');
  const typed = sdkDecodeTypedSearchAttributes(out);
  assert.deepEqual(typed.get(defineSearchAttributeKey('CustomDatetimeField', 'DATETIME')), new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
  // Nothing to label: the same object back.
  const already = { indexedFields: { Unknown: untyped('"u"') } };
  assert.equal(applyTypeMetadata(already, reg), already);
  assert.equal(applyTypeMetadata(undefined, reg), undefined);
  // The registry's version moves with registrations, so cached labels are redone.
  const v = reg.version;
  reg.add('Tags', 'KeywordList');
  assert.equal(reg.version, v, 'registering again with the same type changes nothing');
  reg.add('More', 'Int');
  assert.equal(reg.version, v + 1);
  reg.remove('More');
  assert.equal(reg.version, v + 2);
});
