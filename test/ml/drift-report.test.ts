import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { featureMatrix } from '../../ml/types';
import { driftReport } from '../../ml/drift/report';
import { frameFromArrays, type DataSchema } from '../../ml/data';

function normals(rng: Rng, n: number, shift = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() + shift;
  return out;
}

/** Category codes 0..k-1 drawn with the given probabilities. */
function categories(rng: Rng, n: number, probs: number[]): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.next();
    let k = 0;
    while (k < probs.length - 1 && u >= probs[k]) u -= probs[k++];
    out[i] = k;
  }
  return out;
}

test('the drift report flags the shifted features and only those', () => {
  const rng = new Rng(1);
  const n = 2000;
  const names = ['stable', 'shifted', 'colour', 'region'];
  const reference = featureMatrix(names, [normals(rng, n), normals(rng, n), categories(rng, n, [0.5, 0.3, 0.2]), categories(rng, n, [0.5, 0.3, 0.2])]);
  const current = featureMatrix(names, [normals(rng, n), normals(rng, n, 0.5), categories(rng, n, [0.5, 0.3, 0.2]), categories(rng, n, [0.3, 0.3, 0.4])]);
  const report = driftReport(reference, current, { categorical: ['colour', 'region'] });
  assert.deepEqual(report.drifted, ['shifted', 'region']);
  const byName = Object.fromEntries(report.features.map((f) => [f.feature, f]));
  assert.equal(byName.shifted.test, 'ks');
  assert.equal(byName.region.test, 'chi_square');
  assert.equal(byName.region.df, 2);
  // A half-SD shift of a normal: KS D ≈ 2Φ(0.25) − 1 = 0.197, W1 = 0.5.
  assert.ok(Math.abs(byName.shifted.statistic - 0.197) < 0.04, `D = ${byName.shifted.statistic}`);
  assert.ok(Math.abs(byName.shifted.wasserstein! - 0.5) < 0.06, `W1 = ${byName.shifted.wasserstein}`);
  assert.ok(byName.shifted.psi > byName.stable.psi && byName.shifted.jsDistance > byName.stable.jsDistance);
  assert.equal(byName.colour.wasserstein, undefined);
  assert.ok(byName.region.cramersV! > 0.1);
  for (const f of report.features) {
    assert.ok(f.adjustedPValue >= f.pValue, `${f.feature}: Holm never lowers a p-value`);
    assert.match(f.why, f.drift ? /^drift/ : /^no drift/);
  }
});

test('with a million rows a tiny shift is significant but not flagged, while a strong shift is', () => {
  const rng = new Rng(2);
  // 500,000 reference and 500,000 current rows per feature.
  const n = 500_000;
  const names = ['tiny', 'strong'];
  const reference = featureMatrix(names, [normals(rng, n), normals(rng, n)]);
  const current = featureMatrix(names, [normals(rng, n, 0.02), normals(rng, n, 0.3)]);
  const report = driftReport(reference, current);
  const [tiny, strong] = report.features;
  // Both p-values are far below any α: the test alone cannot tell the two apart.
  assert.ok(tiny.adjustedPValue < 1e-10 && strong.adjustedPValue < 1e-10, `${tiny.adjustedPValue} ${strong.adjustedPValue}`);
  assert.equal(tiny.regime, 'effect_size');
  assert.equal(tiny.significant, true);
  assert.equal(tiny.largeEffect, false);
  assert.equal(tiny.drift, false);
  assert.ok(tiny.statistic < 0.02 && tiny.psi < 0.01, `D ${tiny.statistic}, PSI ${tiny.psi}`);
  assert.match(tiny.why, /no drift.*effect decides/);
  assert.equal(strong.drift, true);
  assert.ok(strong.statistic >= 0.1, `D ${strong.statistic}`);
  assert.deepEqual(report.drifted, ['strong']);
});

test('with a small sample the p-value decides and the rule is recorded in the report', () => {
  const rng = new Rng(3);
  const n = 80;
  const reference = featureMatrix(['x', 'y'], [normals(rng, n), normals(rng, n)]);
  const current = featureMatrix(['x', 'y'], [normals(rng, n, 1), normals(rng, n)]);
  const report = driftReport(reference, current, { alpha: 0.01 });
  for (const f of report.features) {
    // A D of 0.1 at 80 vs 80 rows has p ≈ 0.8, far from significant: the sample is small.
    assert.equal(f.regime, 'p_value');
    assert.equal(f.drift, f.significant);
  }
  assert.deepEqual(report.drifted, ['x']);
  assert.deepEqual(
    { correction: report.rule.correction, alpha: report.rule.alpha, psi: report.rule.psiThreshold, ks: report.rule.minKsEffect, v: report.rule.minCramersV },
    { correction: 'holm', alpha: 0.01, psi: 0.2, ks: 0.1, v: 0.1 },
  );
  assert.match(report.rule.description, /Holm/);
});

test('Holm adjustment multiplies the smallest p-value by the number of features', () => {
  const rng = new Rng(4);
  const n = 300;
  const names = ['a', 'b', 'c'];
  const reference = featureMatrix(names, [normals(rng, n), normals(rng, n), normals(rng, n)]);
  const current = featureMatrix(names, [normals(rng, n, 0.3), normals(rng, n), normals(rng, n)]);
  const report = driftReport(reference, current);
  const smallest = report.features.reduce((m, f) => (f.pValue < m.pValue ? f : m));
  assert.ok(Math.abs(smallest.adjustedPValue - Math.min(1, 3 * smallest.pValue)) <= 1e-15);
});

test('frames with differently coded categories are compared by category name', () => {
  const schema: DataSchema = {
    features: [
      { name: 'colour', type: 'categorical' },
      { name: 'size', type: 'numeric' },
    ],
    label: { name: 'y', positive: '1' },
  };
  const frame = (colours: string[]) =>
    frameFromArrays(schema, { features: { colour: colours, size: colours.map((_, i) => i % 7) }, labels: colours.map(() => 0) });
  const rep = (k: number, c: string): string[] => Array<string>(k).fill(c);
  // The same 40/60 red/blue mix; codes follow first appearance, so red is 0 in one frame and 1 in the other.
  const reference = frame([...rep(40, 'red'), ...rep(60, 'blue')]);
  const current = frame([...rep(60, 'blue'), ...rep(40, 'red')]);
  const [colour, size] = driftReport(reference, current).features;
  assert.equal(colour.kind, 'categorical');
  assert.equal(colour.statistic, 0);
  assert.equal(colour.drift, false);
  assert.equal(size.kind, 'numeric');
  // A real shift in the mix is seen through the re-coding.
  const shifted = driftReport(reference, frame([...rep(80, 'red'), ...rep(20, 'blue')]), { features: ['colour'] });
  assert.equal(shifted.features[0].drift, true);
});

test('bad drift report input names the argument and what was expected', () => {
  const m = featureMatrix(['x'], [Float64Array.from([1, 2, 3])]);
  assert.throws(() => driftReport(m, m, { features: ['y'] }), /reference: has no feature "y"; features: "x"/);
  assert.throws(() => driftReport(m, m, { alpha: 0 }), /options\.alpha: expected a number in \(0, 1\), got 0/);
  assert.throws(() => driftReport(m, m, { categorical: ['z'] }), /options\.categorical: "z" is not among the compared features/);
  const empty = featureMatrix(['x'], [Float64Array.from([NaN])]);
  assert.throws(() => driftReport(empty, m), /reference\.x: expected at least one non-missing value, got only missing values/);
  assert.throws(() => driftReport(m, m, { maxMissingRateChange: 2 }), /options\.maxMissingRateChange: expected a number in \(0, 1\], got 2/);
});

test('half the values missing in the current window is drift, named with its reason, though the present values did not move', () => {
  const rng = new Rng(5);
  const n = 2000;
  const half = normals(rng, n).map((v, i) => (i % 2 === 0 ? NaN : v));
  const reference = featureMatrix(['income', 'age'], [normals(rng, n), normals(rng, n)]);
  const report = driftReport(reference, featureMatrix(['income', 'age'], [half, normals(rng, n)]));
  const [income, age] = report.features;
  // The values still present are distributed as before: the distribution test alone sees nothing.
  assert.equal(income.distributionDrift, false);
  assert.ok(income.psi < 0.1, `PSI ${income.psi}`);
  assert.deepEqual({ reference: income.missing.reference, current: income.missing.current }, { reference: 0, current: 0.5 });
  assert.ok(income.missing.pValue < 1e-10 && income.missing.drift);
  assert.equal(income.drift, true);
  assert.deepEqual(income.reasons, ['missing_rate']);
  assert.match(income.why, /^drift \(missing_rate\): no distribution drift.*; missing rate 0% -> 50% \(change \+50%/);
  assert.deepEqual(report.drifted, ['income']);
  assert.equal(age.drift, false);
  assert.deepEqual(age.reasons, []);
  assert.match(report.rule.description, /missing rate changes by at least 0\.05/);
});

test('a current window with no values at all is drift by its missing rate, not an error', () => {
  const rng = new Rng(6);
  const reference = featureMatrix(['x'], [normals(rng, 500)]);
  const [x] = driftReport(reference, featureMatrix(['x'], [new Float64Array(300).fill(NaN)])).features;
  assert.equal(x.nCurrent, 0);
  assert.equal(x.missing.current, 1);
  assert.deepEqual(x.reasons, ['missing_rate']);
  assert.match(x.why, /no non-missing current values to compare/);
});

test('a small change in the missing rate, or a few missing values in a small window, is not drift', () => {
  const rng = new Rng(7);
  const n = 5000;
  const withMissing = (share: number) => normals(rng, n).map((v) => (rng.next() < share ? NaN : v));
  // 2% → 4%: significant with 5000 rows a side, but below the 0.05 change that counts.
  const [large] = driftReport(featureMatrix(['x'], [withMissing(0.02)]), featureMatrix(['x'], [withMissing(0.04)])).features;
  assert.ok(large.missing.pValue < 0.01 && !large.missing.drift && !large.drift, large.why);
  // 0 of 20 → 2 of 20 is a change of 0.1, but not significant.
  const small = Float64Array.from(normals(rng, 20), (v, i) => (i < 2 ? NaN : v));
  const [few] = driftReport(featureMatrix(['x'], [normals(rng, 20)]), featureMatrix(['x'], [small])).features;
  assert.ok(few.missing.change === 0.1 && few.missing.pValue > 0.05 && !few.drift, few.why);
});

test('categories the reference never had are reported by name and share, and flip the verdict', () => {
  const schema: DataSchema = { features: [{ name: 'region', type: 'categorical' }], label: { name: 'y', positive: '1' } };
  const frame = (values: string[]) => frameFromArrays(schema, { features: { region: values }, labels: values.map(() => 0) });
  const rep = (k: number, c: string): string[] => Array<string>(k).fill(c);
  const reference = frame([...rep(500, 'north'), ...rep(500, 'south')]);
  // 3% of the current rows are in two new regions; the mix of the known ones is unchanged.
  const current = frame([...rep(485, 'north'), ...rep(485, 'south'), ...rep(20, 'east'), ...rep(10, 'west')]);
  const [region] = driftReport(reference, current).features;
  assert.deepEqual(region.unseen, { categories: ['east', 'west'], distinct: 2, rows: 30, share: 0.03, drift: true });
  assert.ok(region.reasons.includes('unseen_categories') && region.drift);
  assert.match(region.why, /2 unseen categories \("east", "west"\) in 3% of current values > 0\.01/);
  // One unseen row in a thousand stays below the default 1% share.
  const [quiet] = driftReport(reference, frame([...rep(500, 'north'), ...rep(499, 'south'), 'east'])).features;
  assert.equal(quiet.unseen!.rows, 1);
  assert.equal(quiet.unseen!.drift, false);
  assert.equal(quiet.drift, false);
});
