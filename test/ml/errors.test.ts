import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ml from '../../ml';
import {
  CsvError,
  InputError,
  MlErrorCodes,
  MlInputError,
  MlRangeError,
  MlTypeError,
  computeMetric,
  deserializeModel,
  featureMatrix,
  gradientBoosting,
  isMlInputError,
  ksTwoSample,
  logisticRegression,
  mlErrorCode,
  parseCsvText,
  parseDataSchema,
  type MlErrorCode,
} from '../../ml';

function codeOf(fn: () => unknown): { error: unknown; code: MlErrorCode | undefined } {
  try {
    fn();
  } catch (error) {
    return { error, code: mlErrorCode(error) };
  }
  assert.fail('expected a throw');
}

test('every coded error is an MlInputError and keeps the built-in class callers may check for', () => {
  const range = new MlRangeError(MlErrorCodes.INPUT_INVALID, 'n: expected an integer');
  const type = new MlTypeError(MlErrorCodes.MODEL_FORMAT, 'model JSON: expected an object');
  const csv = new CsvError('row 3, column "x": expected a number', 3, 'x');
  const input = new InputError('data schema', [{ path: 'features', message: 'required' }]);
  for (const e of [range, type, csv, input]) {
    assert.ok(e instanceof MlInputError, e.name);
    assert.ok(isMlInputError(e), e.name);
    assert.ok(e instanceof Error);
  }
  assert.ok(range instanceof RangeError);
  assert.ok(type instanceof TypeError && input instanceof TypeError);
  assert.equal(range.code, 'INPUT_INVALID');
  assert.equal(csv.code, 'CSV_PARSE');
  assert.equal(csv.row, 3);
  assert.equal(csv.column, 'x');
  assert.equal(input.code, 'INPUT_INVALID');
  // A subclass keeps the ordinary check: a RangeError is no CsvError.
  assert.ok(!(range instanceof CsvError));
  assert.ok(csv instanceof CsvError);
  assert.equal(String(range), 'RangeError: n: expected an integer');
});

test('errors that are not caused by bad input have no code, so they stay retryable', () => {
  for (const e of [new Error('disk full'), new RangeError('a bug'), new TypeError('x is undefined'), 'text', null, undefined, { code: 'CSV_PARSE' }]) {
    assert.equal(isMlInputError(e), false, String(e));
    assert.equal(mlErrorCode(e), undefined);
    assert.ok(!(e instanceof MlInputError));
  }
});

test('bad input across ml/ raises the code of its kind', () => {
  const x = featureMatrix(['a'], [Float64Array.of(1, 2, 3, 4)]);
  const y = Uint8Array.of(0, 1, 0, 1);
  const cases: [string, () => unknown, MlErrorCode][] = [
    ['trainer params', () => gradientBoosting({ maxIter: 0 }), MlErrorCodes.PARAM_INVALID],
    ['unknown trainer param', () => logisticRegression({ depth: 3 } as never), MlErrorCodes.PARAM_INVALID],
    ['fit inputs', () => gradientBoosting().fit(x, Uint8Array.of(0, 1), {}), MlErrorCodes.INPUT_INVALID],
    ['model JSON', () => deserializeModel({ kind: 'svm', version: 1, featureNames: ['a'] }), MlErrorCodes.MODEL_FORMAT],
    ['features at predict', () => logisticRegression().fit(x, y).predictProba(featureMatrix(['b'], [Float64Array.of(1)])), MlErrorCodes.FEATURE_MISMATCH],
    ['a statistic on no data', () => ksTwoSample(new Float64Array(0), Float64Array.of(1)), MlErrorCodes.INPUT_INVALID],
    ['an unknown metric', () => computeMetric('auc' as never, y, Float64Array.of(0.1, 0.9, 0.2, 0.8)), MlErrorCodes.PARAM_INVALID],
    ['a schema', () => parseDataSchema({ features: [] }), MlErrorCodes.INPUT_INVALID],
    ['a CSV value', () => parseCsvText('a,y\nx,1\n', { features: [{ name: 'a', type: 'numeric' }], label: { name: 'y', positive: '1' } }), MlErrorCodes.CSV_PARSE],
    ['a label value', () => parseCsvText('a,y\n1,1\n2,0\n3,2\n', { features: [{ name: 'a', type: 'numeric' }], label: { name: 'y', positive: '1' } }), MlErrorCodes.LABEL_VALUE],
    ['a CSV header', () => parseCsvText('b,y\n1,1\n', { features: [{ name: 'a', type: 'numeric' }], label: { name: 'y', positive: '1' } }), MlErrorCodes.SCHEMA_MISMATCH],
  ];
  for (const [what, fn, code] of cases) {
    const r = codeOf(fn);
    assert.equal(r.code, code, `${what}: ${String(r.error)}`);
  }
});

test('the public entry exports the API and keeps internal helpers out', () => {
  const api = ml as Record<string, unknown>;
  for (const name of ['TrainedModel', 'fitModel', 'trainerFromConfig', 'TrainerConfigSchema', 'isMlInputError', 'MlErrorCodes', 'loadCsv', 'Frame', 'driftReport', 'evaluatePolicy', 'pairedBootstrap', 'groupMetrics', 'computeMetrics', 'gradientBoosting']) {
    assert.ok(name in api, `${name} is exported`);
  }
  for (const name of ['parseParams', 'parseSerialized', 'checkFitInputs', 'checkFeatureNames', 'BlockResampler', 'IndexSampler', 'prepareMetric', 'parseWith', 'LabelCoder']) {
    assert.ok(!(name in api), `${name} stays internal`);
  }
  // Enumerations are PascalCase objects; the remaining upper-case names are scalar constants and lists.
  const screaming = Object.keys(api).filter((k) => /^[A-Z][A-Z0-9_]+$/.test(k) && typeof api[k] === 'object' && !Array.isArray(api[k]));
  assert.deepEqual(screaming, []);
});
