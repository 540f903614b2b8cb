import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DataSchema, Frame, frameFromArrays, parseCsvText, toFeatureMatrix } from '../../ml/data';
import { isMlInputError } from '../../ml/errors';
import {
  dataFingerprint,
  fitModel,
  LIBRARY_VERSION,
  TrainedModel,
  trainerFromConfig,
  trainingInput,
  wrapModel,
} from '../../ml/model';
import { Rng } from '../../ml/random';
import { gradientBoosting, logisticRegression } from '../../ml/trainers';

const schema: DataSchema = {
  features: [
    { name: 'x', type: 'numeric' },
    { name: 'region', type: 'categorical' },
  ],
  label: { name: 'y', positive: 'yes', negative: ['no'] },
};

interface Row {
  x: number;
  region: string;
  y: 'yes' | 'no';
}

/** North is mostly positive and south mostly negative, so swapping their codes swaps the predictions. */
function rows(n: number, seed: number): Row[] {
  const rng = new Rng(seed);
  const out: Row[] = [];
  for (let i = 0; i < n; i++) {
    const region = rng.next() < 0.5 ? 'north' : 'south';
    const x = rng.normal();
    const logit = (region === 'north' ? 1.5 : -1.5) + 0.5 * x;
    out.push({ x, region, y: rng.next() < 1 / (1 + Math.exp(-logit)) ? 'yes' : 'no' });
  }
  return out;
}

function csv(rs: readonly Row[]): string {
  return `x,region,y\n${rs.map((r) => `${r.x},${r.region},${r.y}`).join('\n')}\n`;
}

/** The same rows with the first row of `region` moved to the top, so that category is coded 0 in that file. */
function firstIs(rs: readonly Row[], region: string): Row[] {
  const k = rs.findIndex((r) => r.region === region);
  return [rs[k], ...rs.slice(0, k), ...rs.slice(k + 1)];
}

function codedError(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isMlInputError(e), `expected a coded ml error, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}

for (const trainer of [gradientBoosting({ maxIter: 30 }), logisticRegression()]) {
  test(`a ${trainer.kind} model trained on a file with south first scores a file with north first by category name`, () => {
    const data = rows(600, 1);
    const trainFile = parseCsvText(csv(firstIs(data, 'south')), schema);
    assert.equal((trainFile.column('region') as { categories: readonly string[] }).categories[0], 'south');
    const model = fitModel(trainer, trainFile, { seed: 3 });

    const probe = rows(200, 2);
    const southFirst = parseCsvText(csv(firstIs(probe, 'south')), schema);
    const northFirst = parseCsvText(csv(firstIs(probe, 'north')), schema);
    assert.equal((northFirst.column('region') as { categories: readonly string[] }).categories[0], 'north');
    const a = model.predictFrame(southFirst).p;
    const b = model.predictFrame(northFirst).p;
    // Row i of northFirst is row perm[i] of southFirst: match rows by identity and compare.
    const rowsA = firstIs(probe, 'south');
    const rowsB = firstIs(probe, 'north');
    const at = new Map(rowsA.map((r, i) => [r, i]));
    for (let i = 0; i < rowsB.length; i++) assert.equal(b[i], a[at.get(rowsB[i]) as number], `row ${i}`);

    // And the predictions mean what they should: north rows score higher than south rows.
    const mean = (region: string) => {
      let s = 0;
      let c = 0;
      rowsB.forEach((r, i) => {
        if (r.region === region) {
          s += b[i];
          c++;
        }
      });
      return s / c;
    };
    assert.ok(mean('north') > 0.6 && mean('south') < 0.4, `north ${mean('north')}, south ${mean('south')}`);
    assert.deepEqual(model.predictFrame(northFirst).unseen, { region: 0 });
  });
}

test('the bare trainer model on frame codes gets the swapped file wrong, which is the defect the wrapper removes', () => {
  const data = rows(600, 1);
  const trainFile = parseCsvText(csv(firstIs(data, 'south')), schema);
  const inner = gradientBoosting({ maxIter: 30 }).fit(toFeatureMatrix(trainFile), trainFile.labels, { seed: 3 });
  const probe = firstIs(rows(200, 2), 'north');
  const frame = parseCsvText(csv(probe), schema);
  const bare = inner.predictProba(toFeatureMatrix(frame));
  const byName = fitModel(gradientBoosting({ maxIter: 30 }), trainFile, { seed: 3 }).predictFrame(frame).p;
  let northBare = 0;
  let northByName = 0;
  let n = 0;
  probe.forEach((r, i) => {
    if (r.region === 'north') {
      northBare += bare[i];
      northByName += byName[i];
      n++;
    }
  });
  assert.ok(northBare / n < 0.4, `bare model: north mean ${northBare / n}`);
  assert.ok(northByName / n > 0.6, `by name: north mean ${northByName / n}`);
});

test('an unseen category is scored as missing and counted, never given another category\'s code', () => {
  const model = fitModel(gradientBoosting({ maxIter: 30 }), parseCsvText(csv(rows(600, 1)), schema), { seed: 1 });
  // In this file east is code 0, the code north or south has in some training file.
  const probe = parseCsvText('x,region,y\n0.5,east,yes\n0.5,,no\n0.5,north,no\n0.5,south,no\n-1,east,no\n-1,,no\n', schema);
  assert.equal((probe.column('region') as { codes: Int32Array }).codes[0], 0);
  const { p, unseen } = model.predictFrame(probe);
  assert.deepEqual(unseen, { region: 2 });
  assert.equal(p[0], p[1]);
  assert.equal(p[4], p[5]);
  assert.notEqual(p[2], p[3], 'north and south differ, so east cannot equal both');
  const missing = model.inner.predictProba({ nRows: 1, names: ['x', 'region'], columns: [Float64Array.of(0.5), Float64Array.of(NaN)] });
  assert.equal(p[0], missing[0]);
});

test('for logistic regression an unseen category is all-zero in the one-hot columns, as missing is', () => {
  const model = fitModel(logisticRegression(), parseCsvText(csv(rows(600, 1)), schema));
  assert.deepEqual(model.inner.featureNames, ['x', 'region=north', 'region=south']);
  const r = model.predictRows([{ x: 1, region: 'east' }, { x: 1, region: null }, { x: 1 }, { x: 1, region: 'north' }]);
  assert.deepEqual(r.unseen, { region: 1 });
  assert.equal(r.p[0], r.p[1]);
  assert.equal(r.p[0], r.p[2]);
  assert.ok(r.p[3] > r.p[0]);
});

test('predictRows scores row objects exactly as predictFrame scores the same rows, whatever the key order', () => {
  for (const trainer of [gradientBoosting({ maxIter: 20 }), logisticRegression()]) {
    const model = fitModel(trainer, parseCsvText(csv(rows(400, 5)), schema), { seed: 2 });
    const probe = rows(50, 6);
    const fromFrame = model.predictFrame(parseCsvText(csv(probe), schema)).p;
    const fromRows = model.predictRows(probe.map((r) => ({ region: r.region, extra: 'ignored', x: String(r.x) }))).p;
    assert.deepEqual(fromRows, fromFrame);
  }
});

test('predictRows names the row and feature of a value of the wrong type', () => {
  const model = fitModel(gradientBoosting({ maxIter: 5 }), parseCsvText(csv(rows(200, 1)), schema));
  codedError(() => model.predictRows([{ x: 1, region: 'north' }, { x: 'abc', region: 'north' }]), 'INPUT_INVALID', /^rows\[1\]\.x: expected a number, a numeric string or null, got "abc"/);
  codedError(() => model.predictRows([{ x: 1, region: { name: 'north' } }]), 'INPUT_INVALID', /^rows\[0\]\.region: expected a category name/);
});

test('a frame without a training feature, or with it under another type, is a FEATURE_MISMATCH', () => {
  const model = fitModel(gradientBoosting({ maxIter: 5 }), parseCsvText(csv(rows(200, 1)), schema));
  const noRegion = frameFromArrays({ features: [{ name: 'x', type: 'numeric' }], label: schema.label }, { features: { x: [1] }, labels: ['yes'] });
  codedError(() => model.predictFrame(noRegion), 'FEATURE_MISMATCH', /frame: has no feature "region", which the model was trained on; the frame has "x"/);
  const numericRegion = frameFromArrays(
    { features: [{ name: 'x', type: 'numeric' }, { name: 'region', type: 'numeric' }], label: schema.label },
    { features: { x: [1], region: [0] }, labels: ['yes'] },
  );
  codedError(() => model.predictFrame(numericRegion), 'FEATURE_MISMATCH', /frame\.region: the model was trained on it as categorical, got a numeric column/);
});

test('the model records trainer kind and params, features with categories, the label, versions, a fingerprint and timing', () => {
  const before = Date.now();
  const frame = parseCsvText(csv(rows(300, 1)), schema);
  const model = fitModel(gradientBoosting({ maxIter: 7, learningRate: 0.2 }), frame, { seed: 9 });
  const m = model.metadata;
  assert.equal(m.trainer.kind, 'gbdt');
  assert.equal(m.trainer.params.maxIter, 7);
  assert.equal(m.trainer.params.learningRate, 0.2);
  assert.equal(m.trainer.params.maxBins, 255, 'defaults are recorded too');
  assert.deepEqual(model.features, [
    { name: 'x', type: 'numeric' },
    { name: 'region', type: 'categorical', categories: ['north', 'south'] },
  ]);
  assert.deepEqual(model.label, { name: 'y', positive: 'yes', negative: ['no'] });
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };
  assert.equal(m.libraryVersion, pkg.version);
  assert.equal(LIBRARY_VERSION, pkg.version);
  assert.match(m.dataFingerprint, /^[0-9a-f]{64}$/);
  assert.equal(m.trainingRows, 300);
  assert.equal(m.seed, 9);
  // Recorded, not bounded: the training time fits within the test's own reading around the fit.
  const after = Date.now();
  assert.ok(m.trainingMs >= 0 && m.trainingMs <= after - before + 1, `trainingMs ${m.trainingMs}, test saw ${after - before} ms`);
  const at = Date.parse(m.trainedAt);
  assert.ok(at >= before && at <= after, m.trainedAt);
});

test('the data fingerprint depends on the data by name: category order does not change it, a flipped label does', () => {
  const s: DataSchema = { features: [{ name: 'region', type: 'categorical' }], label: { name: 'y', positive: '1' } };
  const frame = (categories: string[], codes: number[], labels: number[]) =>
    new Frame({ schema: s, columns: [{ type: 'categorical', name: 'region', codes: Int32Array.from(codes), categories }], labels: Uint8Array.from(labels) });
  const a = frame(['south', 'north'], [0, 1, 1, -1], [0, 1, 1, 0]);
  const b = frame(['north', 'south'], [1, 0, 0, -1], [0, 1, 1, 0]);
  const c = frame(['north', 'south'], [1, 0, 0, -1], [0, 1, 0, 0]);
  const fa = trainingInput(a, 'gbdt').dataFingerprint;
  assert.equal(trainingInput(b, 'gbdt').dataFingerprint, fa);
  assert.notEqual(trainingInput(c, 'gbdt').dataFingerprint, fa);
  assert.equal(trainingInput(a, 'gbdt').dataFingerprint, fa, 'deterministic');
  // Numeric: NaN payloads and the sign of zero are normalised, other values are not.
  const ns: DataSchema = { features: [{ name: 'v', type: 'numeric' }], label: { name: 'y', positive: '1' } };
  const fp = (v: number[]) => dataFingerprint([{ name: 'v', type: 'numeric' }], { numeric: () => Float64Array.from(v), coded: () => ({ codes: new Int32Array(0), unseen: 0 }) }, Uint8Array.of(0, 1));
  assert.equal(fp([0, NaN]), fp([-0, NaN]));
  assert.notEqual(fp([0, NaN]), fp([0, 1]));
  assert.ok(ns);
});

test('training categories are the ones the rows use, in declared order when declared and sorted otherwise', () => {
  const undeclared = parseCsvText('x,region,y\n1,west,yes\n2,east,no\n3,north,no\n', schema).slice(0, 2);
  assert.deepEqual(trainingInput(undeclared, 'gbdt').features[1].categories, ['east', 'west']);
  const declared: DataSchema = { ...schema, features: [schema.features[0], { name: 'region', type: 'categorical', categories: ['west', 'north', 'east'] }] };
  const f = parseCsvText('x,region,y\n1,east,yes\n2,west,no\n', declared);
  assert.deepEqual(trainingInput(f, 'gbdt').features[1].categories, ['west', 'east']);
});

test('a model survives a JSON round trip with the same predictions, features, label and metadata', () => {
  for (const trainer of [gradientBoosting({ maxIter: 20 }), logisticRegression()]) {
    const model = fitModel(trainer, parseCsvText(csv(rows(300, 1)), schema), { seed: 4 });
    const text = JSON.stringify(model);
    const back = TrainedModel.fromJSON(text);
    assert.equal(JSON.parse(text).version, 2);
    assert.deepEqual(back.features, model.features);
    assert.deepEqual(back.label, model.label);
    assert.deepEqual(back.metadata, model.metadata);
    const probe = parseCsvText(csv(firstIs(rows(80, 2), 'north')), schema);
    assert.deepEqual(back.predictFrame(probe), model.predictFrame(probe));
    assert.deepEqual(TrainedModel.fromJSON(JSON.parse(text)).toJSON(), model.toJSON());
  }
});

test('a version-1 model JSON is refused with a MODEL_FORMAT error that says what to do', () => {
  const model = fitModel(gradientBoosting({ maxIter: 3 }), parseCsvText(csv(rows(100, 1)), schema));
  codedError(() => TrainedModel.fromJSON(model.inner.toJSON()), 'MODEL_FORMAT', /version-1 "gbdt" model, which does not record its features' types or categories.*retrain it with fitModel/);
  codedError(() => TrainedModel.fromJSON({ ...model.toJSON(), version: 3 }), 'MODEL_FORMAT', /model JSON\.version: expected 2, got 3/);
  codedError(() => TrainedModel.fromJSON('{oops'), 'MODEL_FORMAT', /model JSON: expected valid JSON text/);
  const json = model.toJSON();
  codedError(() => TrainedModel.fromJSON({ ...json, features: [json.features[0]] }), 'MODEL_FORMAT', /inner\.featureNames: expected \[x\] from the feature specs, got \[x, region\]/);
  codedError(() => TrainedModel.fromJSON({ ...json, encoding: 'bits' }), 'MODEL_FORMAT', /encoding: expected one of "codes" \| "one_hot", got "bits"/);
});

test('trainerFromConfig builds either trainer from a validated config and names a bad field with the accepted values', () => {
  const g = trainerFromConfig({ kind: 'gbdt', params: { maxIter: 12 } });
  assert.equal(g.kind, 'gbdt');
  assert.equal(g.params.maxIter, 12);
  const l = trainerFromConfig({ kind: 'logistic' });
  assert.equal(l.kind, 'logistic');
  assert.equal(l.params.C, 1);
  codedError(() => trainerFromConfig({ kind: 'svm' }), 'PARAM_INVALID', /trainer config: kind: expected one of "gbdt" \| "logistic", got "svm"/);
  codedError(() => trainerFromConfig({ kind: 'gbdt', params: { maxIter: 0 } }), 'PARAM_INVALID', /params\.maxIter: expected a number >= 1, got 0/);
  codedError(() => trainerFromConfig({ kind: 'logistic', params: { maxDepth: 3 } }), 'PARAM_INVALID', /params: unknown field "maxDepth"; accepted fields: C, tol/);
});

test('wrapModel assembles a model fitted elsewhere from the same training input', () => {
  const frame = parseCsvText(csv(rows(200, 1)), schema);
  const trainer = gradientBoosting({ maxIter: 10 });
  const input = trainingInput(frame, 'gbdt');
  const inner = trainer.fit(input.x, input.y, { seed: 1 });
  const wrapped = wrapModel(input, inner, { params: trainer.params, trainingMs: 5, trainedAt: new Date(0), seed: 1 });
  assert.equal(wrapped.metadata.trainedAt, '1970-01-01T00:00:00.000Z');
  assert.deepEqual(wrapped.predictFrame(frame).p, fitModel(trainer, frame, { seed: 1 }).predictFrame(frame).p);
});
