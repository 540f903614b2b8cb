import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { featureMatrix, type FeatureMatrix } from '../../ml/types';
import { binEdges, deserializeModel, GbdtModel, gradientBoosting, logisticRegression, type Tree } from '../../ml/trainers';

/** XOR-like labels: positive when x1 and x2 share a sign (plus a noise feature), with 5% label noise. */
function xorData(n: number, seed: number): { x: FeatureMatrix; y: Uint8Array } {
  const rng = new Rng(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = 2 * rng.next() - 1;
    b[i] = 2 * rng.next() - 1;
    c[i] = rng.normal();
    const label = a[i] * b[i] > 0 ? 1 : 0;
    y[i] = rng.next() < 0.05 ? 1 - label : label;
  }
  return { x: featureMatrix(['x1', 'x2', 'noise'], [a, b, c]), y };
}

function accuracy(p: Float64Array, y: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < y.length; i++) c += (p[i] > 0.5 ? 1 : 0) === y[i] ? 1 : 0;
  return c / y.length;
}

/** Leaf reached by row i (for checking how the trees partition the training rows). */
function leafOf(tree: Tree, x: FeatureMatrix, i: number): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    const v = x.columns[tree.feature[node]][i];
    if (v <= tree.threshold[node]) node = tree.left[node];
    else if (Number.isNaN(v)) node = tree.missingLeft[node] ? tree.left[node] : tree.right[node];
    else node = tree.right[node];
  }
  return node;
}

function depthOf(tree: Tree, node = 0): number {
  if (tree.feature[node] < 0) return 0;
  return 1 + Math.max(depthOf(tree, tree.left[node]), depthOf(tree, tree.right[node]));
}

test('boosted trees learn an XOR interaction that logistic regression cannot', () => {
  const train = xorData(4000, 1);
  const testSet = xorData(2000, 2);
  const gbdt = gradientBoosting({ maxIter: 60 }).fit(train.x, train.y);
  const logit = logisticRegression().fit(train.x, train.y);
  const accTrees = accuracy(gbdt.predictProba(testSet.x), testSet.y);
  const accLinear = accuracy(logit.predictProba(testSet.x), testSet.y);
  // 5% label noise caps the attainable accuracy at 0.95; a linear boundary cannot beat chance on XOR.
  assert.ok(accTrees > 0.92, `trees accuracy ${accTrees}`);
  assert.ok(accLinear < 0.6, `logistic accuracy ${accLinear}`);
});

test('one round with learning rate 1 gives the Newton leaf values −ΣG/(ΣH + λ) from the base rate', () => {
  // x = 0: 10 positives of 50; x = 1: 40 of 50. Base rate 1/2, so the raw score starts at 0, p = 1/2, the
  // gradients are p − y and the hessians 1/4 (Friedman 2001; Chen and Guestrin 2016, eq. 5):
  // leaf x = 0: G = 25 − 10 = 15, H = 12.5; leaf x = 1: G = −15, H = 12.5.
  const xs = new Float64Array(100);
  const y = new Uint8Array(100);
  for (let i = 0; i < 100; i++) {
    xs[i] = i < 50 ? 0 : 1;
    y[i] = i < 50 ? (i < 10 ? 1 : 0) : i < 90 ? 1 : 0;
  }
  const x = featureMatrix(['x'], [xs]);
  for (const lambda of [0, 5]) {
    const m = gradientBoosting({ maxIter: 1, learningRate: 1, minSamplesLeaf: 1, l2Regularization: lambda, earlyStopping: false }).fit(x, y);
    assert.equal(m.baseline, 0);
    const tree = m.trees[0];
    assert.equal(tree.feature[0], 0);
    assert.equal(tree.threshold[0], 0.5, 'the threshold is the midpoint between the two values');
    const v = 15 / (12.5 + lambda);
    const p = m.predictProba(featureMatrix(['x'], [Float64Array.of(0, 1)]));
    assert.ok(Math.abs(p[0] - 1 / (1 + Math.exp(v))) < 1e-12, `p(x=0) ${p[0]}`);
    assert.ok(Math.abs(p[1] - 1 / (1 + Math.exp(-v))) < 1e-12, `p(x=1) ${p[1]}`);
  }
});

test('bin edges follow scikit-learn: midpoints of distinct values, else midpoint percentiles', () => {
  // Checked against sklearn 1.2 _find_binning_thresholds and np.percentile(np.arange(10), [25, 50, 75],
  // method="midpoint") = [2.5, 4.5, 6.5].
  assert.deepEqual(Array.from(binEdges(Float64Array.of(1, 1, 2, 5, 5, 9, NaN), null, 255)), [1.5, 3.5, 7]);
  assert.deepEqual(Array.from(binEdges(Float64Array.from({ length: 10 }, (_, i) => i), null, 4)), [2.5, 4.5, 6.5]);
  assert.deepEqual(Array.from(binEdges(Float64Array.of(3, 3, 3), null, 255)), []);
});

test('early stopping on pure noise stops long before maxIter', () => {
  const rng = new Rng(3);
  const n = 3000;
  const cols = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => rng.normal()));
  const y = Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
  const m = gradientBoosting({ maxIter: 300, earlyStopping: true }).fit(featureMatrix(['a', 'b', 'c'], cols), y);
  assert.equal(m.info?.earlyStopped, true);
  assert.ok(m.trees.length < 60, `ran ${m.trees.length} rounds`);
  // The rule (scikit-learn's): the last nIterNoChange validation losses did not beat the one before them by tol.
  const losses = m.info!.validationLoss!;
  const ref = losses[losses.length - 11];
  for (const l of losses.slice(-10)) assert.ok(l >= ref - 1e-7);
});

test("'auto' early stopping is off up to 10,000 rows, as in scikit-learn", () => {
  const { x, y } = xorData(2000, 4);
  const m = gradientBoosting({ maxIter: 15 }).fit(x, y);
  assert.equal(m.trees.length, 15);
  assert.equal(m.info?.validationLoss, undefined);
});

test('every leaf holds at least minSamplesLeaf training rows, and tree size limits hold', () => {
  const { x, y } = xorData(3000, 5);
  const minSamplesLeaf = 70;
  const m = gradientBoosting({ maxIter: 20, minSamplesLeaf, maxLeafNodes: 12, maxDepth: 4, earlyStopping: false }).fit(x, y);
  for (const tree of m.trees) {
    const counts = new Map<number, number>();
    for (let i = 0; i < x.nRows; i++) {
      const leaf = leafOf(tree, x, i);
      counts.set(leaf, (counts.get(leaf) ?? 0) + 1);
    }
    const leaves = Array.from(tree.feature).filter((f) => f < 0).length;
    assert.equal(counts.size, leaves);
    for (const c of counts.values()) assert.ok(c >= minSamplesLeaf, `leaf with ${c} rows`);
    assert.ok(leaves <= 12, `${leaves} leaves`);
    assert.ok(depthOf(tree) <= 4, `depth ${depthOf(tree)}`);
  }
  assert.ok(m.trees.some((t) => Array.from(t.feature).filter((f) => f < 0).length === 12), 'the leaf limit is reached');
});

test('missing values get their own bin and a learned direction', () => {
  // Positives are x > 0.5, and every missing x is positive: the trees must send NaN to the positive side.
  const rng = new Rng(6);
  const n = 2000;
  const xs = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (rng.next() < 0.2) {
      xs[i] = NaN;
      y[i] = 1;
    } else {
      xs[i] = rng.next();
      y[i] = xs[i] > 0.5 ? 1 : 0;
    }
  }
  const m = gradientBoosting({ maxIter: 30 }).fit(featureMatrix(['x'], [xs]), y);
  const p = m.predictProba(featureMatrix(['x'], [Float64Array.of(NaN, 0.1, 0.9)]));
  assert.ok(p[0] > 0.9 && p[1] < 0.1 && p[2] > 0.9, `p = ${Array.from(p)}`);
  // And the round trip keeps the learned direction.
  assert.deepEqual(deserializeModel(JSON.stringify(m)).predictProba(featureMatrix(['x'], [Float64Array.of(NaN)])), p.subarray(0, 1));
});

test('a feature that is constant apart from NaN splits missing from present, and survives JSON', () => {
  // The only possible split is "missing versus the rest"; its threshold is +Infinity, stored as null in JSON.
  const n = 400;
  const xs = Float64Array.from({ length: n }, (_, i) => (i % 4 === 0 ? NaN : 1));
  const y = Uint8Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
  const m = gradientBoosting({ maxIter: 5, earlyStopping: false }).fit(featureMatrix(['x'], [xs]), y);
  assert.equal(m.trees[0].threshold[0], Infinity);
  assert.equal(m.trees[0].missingLeft[0], 0);
  const json = m.toJSON() as unknown as { trees: { threshold: (number | null)[] }[] };
  assert.equal(json.trees[0].threshold[0], null);
  const probe = featureMatrix(['x'], [Float64Array.of(NaN, 1, 5)]);
  const p = deserializeModel(JSON.parse(JSON.stringify(json))).predictProba(probe);
  assert.deepEqual(p, m.predictProba(probe));
  assert.ok(p[0] > 0.5 && p[1] < 0.5 && p[2] < 0.5, `p = ${Array.from(p)}`);
});

test('integer sample weights give the same model as duplicating rows', () => {
  // Few distinct values, so binning is the same for both; minSamplesLeaf 1 because it counts rows, not weight.
  const rng = new Rng(7);
  const n = 500;
  const a = Float64Array.from({ length: n }, () => rng.nextInt(12));
  const b = Float64Array.from({ length: n }, () => rng.nextInt(7));
  const y = Uint8Array.from({ length: n }, (_, i) => (rng.next() < (a[i] * b[i]) / 80 + 0.1 ? 1 : 0));
  const w = Float64Array.from({ length: n }, () => rng.nextInt(4));
  const idx: number[] = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < w[i]; k++) idx.push(i);
  const x = featureMatrix(['a', 'b'], [a, b]);
  const dup = featureMatrix(['a', 'b'], [Float64Array.from(idx, (i) => a[i]), Float64Array.from(idx, (i) => b[i])]);
  const params = { maxIter: 10, minSamplesLeaf: 1, earlyStopping: false } as const;
  const mw = gradientBoosting(params).fit(x, y, { sampleWeight: w });
  const md = gradientBoosting(params).fit(dup, Uint8Array.from(idx, (i) => y[i]));
  const pw = mw.predictProba(x);
  const pd = md.predictProba(x);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(pw[i] - pd[i]) < 1e-9, `row ${i}: ${pw[i]} vs ${pd[i]}`);
});

test('a JSON round trip gives identical predictions', () => {
  const { x, y } = xorData(1500, 8);
  const m = gradientBoosting({ maxIter: 25 }).fit(x, y);
  const text = JSON.stringify(m.toJSON());
  const back = deserializeModel(text);
  assert.ok(back instanceof GbdtModel);
  const probe = xorData(500, 9).x;
  assert.deepEqual(back.predictProba(probe), m.predictProba(probe));
});

test('fitting is deterministic for a seed, and the seed drives the validation split', () => {
  const { x, y } = xorData(1500, 10);
  const params = { maxIter: 20, earlyStopping: true } as const;
  const a = gradientBoosting(params).fit(x, y, { seed: 5 });
  const b = gradientBoosting(params).fit(x, y, { seed: 5 });
  const c = gradientBoosting(params).fit(x, y, { seed: 6 });
  assert.deepEqual(a.toJSON(), b.toJSON());
  assert.notDeepEqual(a.toJSON(), c.toJSON());
});

test('progress is reported every round with the training and validation losses', () => {
  const { x, y } = xorData(1500, 11);
  const seen: { iteration: number; total: number; loss?: number; validationLoss?: number }[] = [];
  const m = gradientBoosting({ maxIter: 12, earlyStopping: true, nIterNoChange: 50 }).fit(x, y, { onProgress: (p) => seen.push(p) });
  assert.equal(seen.length, m.trees.length);
  seen.forEach((p, k) => {
    assert.equal(p.iteration, k + 1);
    assert.equal(p.total, 12);
    assert.ok(Number.isFinite(p.loss) && Number.isFinite(p.validationLoss));
  });
  assert.ok(seen[11].loss! < seen[0].loss!);
});

test('bad parameters are rejected with the parameter named', () => {
  assert.throws(() => gradientBoosting({ learningRate: 0 }), /gbdt params\.learningRate: .*got 0/);
  assert.throws(() => gradientBoosting({ maxBins: 300 }), /gbdt params\.maxBins: .*got 300/);
  assert.throws(() => gradientBoosting({ maxLeafNodes: 1 }), /gbdt params\.maxLeafNodes/);
  assert.throws(() => gradientBoosting({ validationFraction: 1 }), /gbdt params\.validationFraction/);
  assert.throws(() => gradientBoosting({ earlyStopping: 'yes' as 'auto' }), /gbdt params\.earlyStopping: expected "auto", true or false, got "yes"/);
  assert.throws(() => gradientBoosting({ max_iter: 10 } as object), /gbdt params: unknown parameter "max_iter"/);
});

test('predicting on other features is an error naming them', () => {
  const { x, y } = xorData(300, 12);
  const m = gradientBoosting({ maxIter: 3 }).fit(x, y);
  assert.throws(() => m.predictProba(featureMatrix(['x1', 'x2'], [x.columns[0], x.columns[1]])), /x\.names: this gbdt model was trained on features \[x1, x2, noise\], got \[x1, x2\] \(missing \[noise\]/);
});

test('a malformed serialised model is rejected with the field named', () => {
  const { x, y } = xorData(300, 13);
  const json = gradientBoosting({ maxIter: 2 }).fit(x, y).toJSON() as unknown as { trees: Record<string, unknown[]>[] };
  const broken = structuredClone(json);
  broken.trees[0].left[0] = 0;
  assert.throws(() => deserializeModel(broken), /gbdt model JSON\.trees\[0\]\.left\[0\]: expected a node index in \(0, \d+\), got 0/);
  const short = structuredClone(json);
  short.trees[1].value.pop();
  assert.throws(() => deserializeModel(short), /gbdt model JSON\.trees\[1\]\.value: expected \d+ entries/);
  const wrongType = structuredClone(json);
  wrongType.trees[0].threshold[0] = 'x';
  assert.throws(() => deserializeModel(wrongType), /gbdt model JSON\.trees\[0\]\.threshold\[0\]: .*got "x"/);
});
