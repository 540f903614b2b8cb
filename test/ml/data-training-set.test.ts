import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTrainingSet, type DataSchema, type Frame, frameFromArrays, InputError, mixCounts } from '../../ml/data';

const timed: DataSchema = { features: [{ name: 'x', type: 'numeric' }], label: { name: 'y', positive: '1' }, time: { name: 't' } };
const untimed: DataSchema = { features: [{ name: 'x', type: 'numeric' }], label: { name: 'y', positive: '1' } };

/** Rows with times start, start + step, …; x holds the same time so sampled rows can be traced. */
function span(n: number, start: number, step = 1, withTime = true): Frame {
  const t = Array.from({ length: n }, (_, i) => start + i * step);
  return frameFromArrays(withTime ? timed : untimed, { features: { x: t }, labels: new Uint8Array(n), ...(withTime ? { time: t } : {}) });
}

function xs(f: Frame): number[] {
  const c = f.column('x');
  assert.ok(c.type === 'numeric');
  return [...c.values];
}

test('by default new data makes up 80% of the set: all 1,000 new rows and 250 historical rows', () => {
  const { frame, summary } = buildTrainingSet(span(10_000, 0), span(1_000, 10_000));
  // 1,000 / (1,000 + 250) = 0.8 exactly.
  assert.equal(summary.newRows, 1_000);
  assert.equal(summary.historicalRows, 250);
  assert.equal(summary.newFraction, 0.8);
  assert.equal(summary.downsampled, 'historical');
  assert.equal(frame.nRows, 1_250);
  const x = xs(frame);
  assert.ok(x.slice(0, 250).every((v) => v < 10_000), 'historical rows come first');
  assert.ok(x.every((v, i) => i === 0 || v > x[i - 1]), 'rows keep their order and are not repeated');
});

test('when history is scarce, all of it is used and the new data is downsampled to keep the ratio', () => {
  const { summary } = buildTrainingSet(span(100, 0), span(1_000, 100));
  assert.deepEqual([summary.historicalRows, summary.newRows, summary.downsampled], [100, 400, 'new']);
  assert.equal(summary.newFraction, 0.8);
});

test('the mix follows other fractions and the extremes', () => {
  assert.deepEqual(mixCounts(10_000, 1_000, 0.5), { historical: 1_000, fresh: 1_000 });
  assert.deepEqual(mixCounts(10_000, 1_000, 1), { historical: 0, fresh: 1_000 });
  assert.deepEqual(mixCounts(10_000, 1_000, 0), { historical: 10_000, fresh: 0 });
  assert.deepEqual(mixCounts(0, 1_000, 0.8), { historical: 0, fresh: 1_000 });
  assert.deepEqual(mixCounts(10_000, 1_000, 0.8, 500), { historical: 100, fresh: 400 });
});

test('the same seed gives the same sample and another seed a different one', () => {
  const h = span(10_000, 0);
  const n = span(1_000, 10_000);
  const a = xs(buildTrainingSet(h, n, { seed: 7 }).frame);
  const b = xs(buildTrainingSet(h, n, { seed: 7 }).frame);
  const c = xs(buildTrainingSet(h, n, { seed: 8 }).frame);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('a row exactly one half-life old weighs 0.5, two half-lives 0.25, and the newest 1', () => {
  // weights = 0.5^(age / halfLife), age measured from the newest row (t = 1,999).
  const { frame, weights, summary } = buildTrainingSet(span(1_000, 0), span(1_000, 1_000), { newFraction: 0.5, halfLife: 100 });
  const x = xs(frame);
  const at = (t: number): number => weights[x.indexOf(t)];
  assert.equal(at(1_999), 1);
  assert.equal(at(1_899), 0.5);
  assert.equal(at(1_799), 0.25);
  assert.equal(at(999), 0.5 ** 10);
  assert.equal(summary.halfLife, 100);
  assert.ok(summary.effectiveRows < frame.nRows);
});

test('without a time column, age is counted in rows with the new rows following the historical ones', () => {
  const { frame, weights } = buildTrainingSet(span(10, 0, 1, false), span(10, 10, 1, false), { newFraction: 0.5, halfLife: 4 });
  // x holds each row's position in historical-then-new order; the newest is 19.
  const x = xs(frame);
  assert.equal(weights[x.indexOf(19)], 1);
  assert.equal(weights[x.indexOf(15)], 0.5);
  assert.equal(weights[x.indexOf(3)], 0.5 ** 4);
});

test('without recency weighting every weight is 1 and the effective size is the row count', () => {
  const { weights, summary } = buildTrainingSet(span(100, 0), span(100, 100));
  assert.ok(weights.every((w) => w === 1));
  assert.equal(summary.effectiveRows, weights.length);
});

test('season coverage spreads a small historical share over the whole last season', () => {
  // 250 historical picks over a 1,000-row season: one per stratum of 4 rows, so the picks start in the first
  // stratum, end in the last, and no gap exceeds two strata.
  const h = span(10_000, 0);
  const { frame, summary } = buildTrainingSet(h, span(1_000, 10_000), { coverLastSeason: { period: 1_000 } });
  const hist = xs(frame).slice(0, summary.historicalRows);
  assert.equal(hist.length, 250);
  assert.ok(hist.every((t) => t >= 9_000 && t <= 9_999), 'every pick is in the season, rows 9,000 to 9,999');
  assert.ok(hist[0] <= 9_003 && hist[249] >= 9_996, `picks span the season: ${hist[0]}..${hist[249]}`);
  assert.ok(hist.every((t, i) => i === 0 || t - hist[i - 1] <= 7));
  assert.deepEqual(summary.season, { from: 8_999, to: 9_999, available: 1_000, rows: 250, complete: true });
  // Without the option, a uniform sample puts about 10% of the picks there.
  const plain = xs(buildTrainingSet(h, span(1_000, 10_000)).frame).slice(0, 250);
  assert.ok(plain.filter((t) => t >= 9_000).length < 60);
});

test('when the budget exceeds the season, all of the season is kept and the rest drawn from older history', () => {
  const { frame, summary } = buildTrainingSet(span(10_000, 0), span(4_000, 10_000), { coverLastSeason: { period: 500 } });
  const hist = xs(frame).slice(0, summary.historicalRows);
  assert.equal(hist.length, 1_000);
  assert.equal(hist.filter((t) => t >= 9_500).length, 500);
  assert.equal(new Set(hist).size, 1_000);
});

test('a history shorter than one season is reported as incomplete', () => {
  const { summary } = buildTrainingSet(span(100, 0, 7), span(100, 700, 7), { coverLastSeason: { period: 7 * 365 } });
  assert.equal(summary.season?.complete, false);
  // 7 daily rows cover a 7-day period.
  assert.equal(buildTrainingSet(span(7, 0), span(7, 7), { coverLastSeason: { period: 7 } }).summary.season?.complete, true);
});

test('a bad policy names the field and the accepted range', () => {
  assert.throws(() => buildTrainingSet(span(1, 0), span(1, 1), { newFraction: 1.5 }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /newFraction: expected a number <= 1, got 1\.5/);
    return true;
  });
  assert.throws(() => buildTrainingSet(span(1, 0), span(1, 1), { halfLife: 0 }), /halfLife: expected a number > 0, got 0/);
  assert.throws(() => buildTrainingSet(span(1, 0), span(1, 1), { recency: 3 } as never), /unknown field "recency"; accepted fields: newFraction, halfLife, coverLastSeason, maxRows, seed/);
});

test('historical and new frames must have the same columns', () => {
  assert.throws(() => buildTrainingSet(span(3, 0), span(3, 3, 1, false)), /fresh: expected the same columns as historical, but time\.name/);
});
