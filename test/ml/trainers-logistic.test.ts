import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { featureMatrix, type FeatureMatrix } from '../../ml/types';
import { deserializeModel, logisticRegression, LogisticModel } from '../../ml/trainers';

/** Two correlated features on different scales plus noise, labels from a known logistic model. */
function syntheticData(n: number, seed: number): { x: FeatureMatrix; y: Uint8Array } {
  const rng = new Rng(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng.normal();
    b[i] = 100 + 30 * (0.6 * a[i] + 0.8 * rng.normal());
    c[i] = rng.next() < 0.3 ? 1 : 0;
    const eta = -0.5 + 1.2 * a[i] - 0.02 * (b[i] - 100) + 0.8 * c[i];
    y[i] = rng.next() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { x: featureMatrix(['a', 'b', 'c'], [a, b, c]), y };
}

/** Gradient of C·Σ wᵢ·loglossᵢ + ½‖β‖² on the raw scale, computed independently of the trainer. */
function objectiveGradient(
  x: FeatureMatrix,
  y: Uint8Array,
  coef: Float64Array,
  intercept: number,
  C: number,
  w?: Float64Array,
): number[] {
  const d = coef.length;
  const g = new Array<number>(d + 1).fill(0);
  for (let i = 0; i < x.nRows; i++) {
    let e = intercept;
    for (let j = 0; j < d; j++) e += coef[j] * x.columns[j][i];
    const r = C * (w ? w[i] : 1) * (1 / (1 + Math.exp(-e)) - y[i]);
    for (let j = 0; j < d; j++) g[j] += r * x.columns[j][i];
    g[d] += r;
  }
  for (let j = 0; j < d; j++) g[j] += coef[j];
  return g;
}

/** A single binary feature: x = 0 has 10 positives of 40 rows, x = 1 has 30 of 40. */
function twoGroups(): { x: FeatureMatrix; y: Uint8Array } {
  const xs = new Float64Array(80);
  const y = new Uint8Array(80);
  for (let i = 0; i < 80; i++) {
    xs[i] = i < 40 ? 0 : 1;
    y[i] = i < 40 ? (i < 10 ? 1 : 0) : i < 70 ? 1 : 0;
  }
  return { x: featureMatrix(['x'], [xs]), y };
}

test('with a negligible penalty the fit equals the saturated model’s empirical log-odds', () => {
  // For a single binary feature the unpenalised maximum-likelihood fit reproduces each group's log-odds
  // (Agresti, Categorical Data Analysis, 3rd ed., §5.1): intercept = logit(10/40) = −ln 3,
  // coefficient = logit(30/40) − logit(10/40) = 2 ln 3.
  const { x, y } = twoGroups();
  const m = logisticRegression({ C: 1e12, tol: 1e-12 }).fit(x, y);
  assert.ok(Math.abs(m.intercept + Math.log(3)) < 1e-8, `intercept ${m.intercept}`);
  assert.ok(Math.abs(m.coef[0] - 2 * Math.log(3)) < 1e-8, `coef ${m.coef[0]}`);
});

test('with C = 1 the fit satisfies the hand-derived optimality conditions of the two-group problem', () => {
  // Stationarity of C·Σ logloss + ½β² for the two groups gives σ(b) = (10 + β)/40 and σ(b + β) = (30 − β)/40
  // (with C = 1), so β solves logit((10 + β)/40) + β = logit((30 − β)/40); solved here by bisection.
  const logit = (p: number) => Math.log(p / (1 - p));
  const h = (beta: number) => logit((10 + beta) / 40) + beta - logit((30 - beta) / 40);
  let lo = 0;
  let hi = 10;
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (h(mid) > 0) hi = mid;
    else lo = mid;
  }
  const beta = (lo + hi) / 2;
  const b = logit((10 + beta) / 40);
  const { x, y } = twoGroups();
  const m = logisticRegression({ C: 1, tol: 1e-12 }).fit(x, y);
  assert.ok(Math.abs(m.coef[0] - beta) < 1e-9, `coef ${m.coef[0]} vs ${beta}`);
  assert.ok(Math.abs(m.intercept - b) < 1e-9, `intercept ${m.intercept} vs ${b}`);
  // The penalty shrinks the coefficient below the unpenalised 2 ln 3.
  assert.ok(beta < 2 * Math.log(3) && beta > 1.5);
});

test('the gradient of the objective is zero at the returned coefficients, for several C and both solvers', () => {
  const { x, y } = syntheticData(3000, 1);
  for (const C of [0.01, 1, 100]) {
    for (const solver of ['newton', 'lbfgs'] as const) {
      const m = logisticRegression({ C, solver, tol: 1e-10, maxIter: 1000 }).fit(x, y);
      assert.equal(m.info?.converged, true, `C=${C} ${solver} converged`);
      const g = objectiveGradient(x, y, m.coef, m.intercept, C);
      const scale = C * x.nRows;
      for (const gj of g) assert.ok(Math.abs(gj) / scale < 1e-8, `C=${C} ${solver}: gradient ${g.join(', ')}`);
    }
  }
});

test('Newton and L-BFGS reach the same coefficients', () => {
  const { x, y } = syntheticData(2000, 2);
  const a = logisticRegression({ solver: 'newton', tol: 1e-11 }).fit(x, y);
  const b = logisticRegression({ solver: 'lbfgs', tol: 1e-11, maxIter: 2000 }).fit(x, y);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(a.coef[j] - b.coef[j]) < 1e-6 * (1 + Math.abs(a.coef[j])));
  assert.ok(Math.abs(a.intercept - b.intercept) < 1e-6);
  assert.ok(a.info!.iterations < 15, `Newton took ${a.info!.iterations} steps`);
});

test('integer sample weights give the same fit as duplicating rows', () => {
  const { x, y } = syntheticData(600, 3);
  const rng = new Rng(9);
  const w = new Float64Array(x.nRows);
  const idx: number[] = [];
  for (let i = 0; i < x.nRows; i++) {
    w[i] = rng.nextInt(4); // 0..3, zero drops the row
    for (let k = 0; k < w[i]; k++) idx.push(i);
  }
  const dup = featureMatrix(x.names, x.columns.map((c) => Float64Array.from(idx, (i) => c[i])));
  const yDup = Uint8Array.from(idx, (i) => y[i]);
  const a = logisticRegression({ C: 0.5, tol: 1e-12 }).fit(x, y, { sampleWeight: w });
  const b = logisticRegression({ C: 0.5, tol: 1e-12 }).fit(dup, yDup);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(a.coef[j] - b.coef[j]) < 1e-9, `coef ${j}: ${a.coef[j]} vs ${b.coef[j]}`);
  assert.ok(Math.abs(a.intercept - b.intercept) < 1e-9);
  const g = objectiveGradient(x, y, a.coef, a.intercept, 0.5, w);
  for (const gj of g) assert.ok(Math.abs(gj) < 1e-7);
});

test('without an intercept the model passes through the origin and is still optimal', () => {
  const { x, y } = syntheticData(1500, 4);
  const m = logisticRegression({ fitIntercept: false, tol: 1e-11 }).fit(x, y);
  assert.equal(m.intercept, 0);
  const g = objectiveGradient(x, y, m.coef, 0, 1);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(g[j]) / x.nRows < 1e-8, `gradient ${g[j]}`);
});

test('a JSON round trip gives identical predictions', () => {
  const { x, y } = syntheticData(800, 5);
  const m = logisticRegression().fit(x, y);
  const text = JSON.stringify(m.toJSON());
  const back = deserializeModel(JSON.parse(text));
  assert.ok(back instanceof LogisticModel);
  assert.deepEqual(back.predictProba(x), m.predictProba(x));
  assert.deepEqual(deserializeModel(text).predictProba(x), m.predictProba(x));
});

test('fitting twice gives bit-identical models', () => {
  const { x, y } = syntheticData(800, 6);
  const a = logisticRegression().fit(x, y, { seed: 1 });
  const b = logisticRegression().fit(x, y, { seed: 1 });
  assert.deepEqual(a.toJSON(), b.toJSON());
});

test('progress is reported once per solver iteration with a decreasing loss', () => {
  const { x, y } = syntheticData(800, 7);
  const seen: { iteration: number; loss?: number }[] = [];
  const m = logisticRegression({ solver: 'lbfgs' }).fit(x, y, { onProgress: (p) => seen.push(p) });
  assert.equal(seen.length, m.info!.iterations);
  seen.forEach((p, k) => assert.equal(p.iteration, k + 1));
  for (let k = 1; k < seen.length; k++) assert.ok(seen[k].loss! <= seen[k - 1].loss! + 1e-15);
});

test('bad parameters are rejected with the parameter named', () => {
  assert.throws(() => logisticRegression({ C: -1 }), /logistic params\.C: .*got -1/);
  assert.throws(() => logisticRegression({ maxIter: 2.5 }), /logistic params\.maxIter/);
  assert.throws(() => logisticRegression({ solver: 'sgd' as 'lbfgs' }), /logistic params\.solver: .*"newton".*got "sgd"/);
  assert.throws(() => logisticRegression({ Cee: 1 } as object), /unknown parameter "Cee"/);
});

test('bad training data is rejected with the field, row and column named', () => {
  const { x, y } = syntheticData(50, 8);
  const bad = featureMatrix(x.names, x.columns.map((c) => Float64Array.from(c)));
  (bad.columns[1] as Float64Array)[7] = NaN;
  assert.throws(() => logisticRegression().fit(bad, y), /x\.columns\[1\] \(b\) row 7: .*finite.*NaN/);
  assert.throws(() => logisticRegression().fit(x, y.subarray(0, 10)), /y: expected 50 labels/);
  const y2 = Uint8Array.from(y);
  y2[3] = 2;
  assert.throws(() => logisticRegression().fit(x, y2), /y\[3\]: expected 0 or 1, got 2/);
  assert.throws(() => logisticRegression().fit(x, new Uint8Array(50)), /y: expected both classes/);
  const w = new Float64Array(50).fill(1);
  w[4] = -1;
  assert.throws(() => logisticRegression().fit(x, y, { sampleWeight: w }), /sampleWeight\[4\]: expected a finite non-negative number, got -1/);
});

test('predicting on differently named or ordered features is an error that lists both', () => {
  const { x, y } = syntheticData(100, 9);
  const m = logisticRegression().fit(x, y);
  const reordered = featureMatrix(['b', 'a', 'c'], [x.columns[1], x.columns[0], x.columns[2]]);
  assert.throws(() => m.predictProba(reordered), /x\.names: .*trained on features \[a, b, c\], got \[b, a, c\].*different order/);
  const renamed = featureMatrix(['a', 'b', 'd'], [...x.columns]);
  assert.throws(() => m.predictProba(renamed), /missing \[c\], unexpected \[d\]/);
});

test('a malformed serialised model is rejected with the field named', () => {
  const { x, y } = syntheticData(100, 10);
  const json = logisticRegression().fit(x, y).toJSON();
  assert.throws(() => deserializeModel({ ...json, coef: [1, 2] }), /logistic model JSON\.coef: expected 3 coefficients/);
  assert.throws(() => deserializeModel({ ...json, intercept: 'x' }), /logistic model JSON\.intercept: .*got "x"/);
  assert.throws(() => deserializeModel({ ...json, kind: 'svm' }), /model JSON\.kind: expected one of "logistic", "gbdt", got "svm"/);
  assert.throws(() => deserializeModel('{not json'), /model JSON: expected valid JSON text/);
});
