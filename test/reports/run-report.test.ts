/**
 * The run and monitor reports' content: what a reader must find in the HTML and the Markdown (the decision and
 * who made it, names, numbers, every chart), that user text is escaped, and that a run which ended early renders
 * what it has and says what is missing. Chromium checks of the same files are in browser.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMonitorReport, renderRunReport, writeRunReport } from '../../reports';
import { duration, html, md, num, pValue } from '../../reports/format';
import { HOSTILE_DESCRIPTION, monitorHistory, passingValidationDocument, promotedDetail, promotedRun, validationDocument, validationFailedRun } from './fixtures';

const chartsIn = (page: string): string[] => [...page.matchAll(/<figure class="chart" data-chart="([^"]+)">\s*<svg /g)].map((m) => m[1]);

test('a promoted run names the decision, the approver, both versions and the holdout numbers with intervals', async () => {
  const { html: page, markdown } = await renderRunReport(promotedRun(), promotedDetail(), passingValidationDocument());
  assert.match(page, /<span class="decision good">promoted<\/span>/);
  assert.match(page, /<th>Decided by<\/th><td>alice<\/td>/);
  assert.match(page, /production v6/);
  assert.match(page, /candidate v7/);
  assert.match(page, /0\.912 \[0\.888, 0\.936\]/, 'candidate ROC AUC with its interval');
  assert.match(page, /0\.861 \[0\.830, 0\.892\]/, 'production ROC AUC with its interval');
  assert.match(page, /\+0\.051/);
  assert.match(page, /134 holdout rows/);
  assert.match(page, /primary:roc_auc/);
  assert.match(markdown, /^# elec2 · run 3: promoted$/m);
  assert.match(markdown, /\*\*Decision:\*\* promoted, by alice/);
  assert.match(markdown, /\| ROC AUC \| 0\.912 \[0\.888, 0\.936\] \| 0\.861 \[0\.830, 0\.892\] \| \+0\.051 \|/);
});

test('a promoted run with full detail draws every chart as inline SVG', async () => {
  const { html: page } = await renderRunReport(promotedRun(), promotedDetail(), passingValidationDocument());
  assert.deepEqual(chartsIn(page).sort(), ['calibration', 'drift', 'fairness', 'forest', 'groups', 'slices', 'timeline']);
  assert.doesNotMatch(page, /class="missing"/, 'nothing is reported missing when the run has every part');
});

test('slices, groups, fairness gaps, drift, calibration, hard examples, rollout and lineage are in the report', async () => {
  const { html: page, markdown } = await renderRunReport(promotedRun(), promotedDetail(), passingValidationDocument());
  for (const text of ['day_type = weekday', 'day_type = weekend', 'region = NSW', 'region = VIC', 'demographic parity (region)', 'equal opportunity (region)']) {
    assert.ok(page.includes(text), `HTML has ${text}`);
  }
  assert.match(page, /2 of 6 features drifted \(nswprice, nswdemand\)/);
  assert.match(page, /Expected calibration error: candidate v7 0\.021, production v6 0\.068/);
  assert.match(page, /60 known-hard examples: the candidate gets 47 right, production 45; 0 new failures, 2 fixed/);
  assert.match(page, /10%<\/td><td class="num">140<\/td>/, 'the first canary step');
  assert.match(page, /file:\/\/\/var\/retrain\/snapshots\/elec2\/holdout-12-14\.parquet/);
  assert.match(page, /&quot;learningRate&quot;: 0\.1/, 'trainer params');
  assert.match(page, /resumed from iteration 60/);
  assert.match(page, /1 min 32 s · 1 retry/, "the train bar's label in the timeline");
  assert.match(markdown, /\| nswprice \| 0\.410 \| 0\.310 \| <0\.001 \| 0\.0% → 0\.0% \| \*\*drifted\*\* \|/);
  assert.match(markdown, /\| day\\_type = weekday \| 96 \|/);
  assert.match(page, /<span class="pass">Passed<\/span>: 0 failing checks on 538 rows × 9 columns/);
});

test('user text is escaped: a <script> in the model description never reaches the page as markup', async () => {
  const { html: page, markdown } = await renderRunReport(promotedRun(), promotedDetail(), passingValidationDocument());
  assert.ok(!page.includes('<script'), 'no script element anywhere in the HTML');
  assert.ok(page.includes('Predicts price &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; direction'));
  assert.ok(!markdown.includes('<script'), 'no raw script tag in the Markdown either');
  // A feature name with markup is text inside the chart's SVG and in the drift table.
  assert.ok(!page.includes('day<b>of</b>week'));
  assert.ok(page.includes('day&lt;b&gt;of&lt;/b&gt;week'));
  assert.ok(!HOSTILE_DESCRIPTION.includes('&lt;'), 'the fixture itself is raw');
});

test('the report fetches nothing: no external URL and a Content-Security-Policy that forbids loads', async () => {
  const { html: page } = await renderRunReport(promotedRun(), promotedDetail(), passingValidationDocument());
  const urls = [...page.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'<)]*/gi)].map((m) => m[0]);
  assert.deepEqual([...new Set(urls)].filter((u) => !u.startsWith('http://www.w3.org/')), []);
  assert.match(page, /Content-Security-Policy" content="default-src 'none'/);
  assert.doesNotMatch(page, /<(script|link|img|iframe)\b/i);
});

test('a run that failed validation shows its failures with rows and says why there is no evaluation', async () => {
  const { html: page, markdown } = await renderRunReport(validationFailedRun(), undefined, validationDocument());
  assert.match(page, /<span class="decision bad">validation_failed<\/span>/);
  assert.match(page, /<th>Decided by<\/th><td>data validation<\/td>/);
  assert.match(page, /requested by carol/);
  assert.match(page, /<span class="fail">Failed<\/span>: 2 failing checks on 336 rows × 9 columns/);
  assert.match(page, /<td>nswprice<\/td><td>range<\/td><td>column nswprice: 3 values out of range \[0, 1\]<\/td><td>4, 9, 17<\/td>/);
  assert.match(page, /<td>40, 41<\/td>/);
  assert.match(page, /No holdout evaluation: the run ended as validation_failed at validate, before the evaluate stage ran\./);
  assert.match(page, /No training: the run ended as validation_failed at validate, before a candidate was trained\./);
  assert.match(page, /No rollout: the run ended as validation_failed before any canary traffic\./);
  assert.match(page, /Candidate version<\/th><td>none \(no candidate trained\)/);
  assert.deepEqual(chartsIn(page), ['timeline'], 'only the timeline can be drawn');
  assert.match(markdown, /\*\*Failed\*\*: 2 failing checks\./);
  assert.match(markdown, /\| nswprice \| range \| column nswprice: 3 values out of range \\\[0, 1\\\] \| 4, 9, 17 \|/);
  assert.match(markdown, /_No holdout evaluation: the run ended as validation\\_failed at validate, before the evaluate stage ran\._/);
});

test('a run that passed validation with warnings shows each warning with its column and reason, in HTML and Markdown', async () => {
  const warnings = [
    { column: 'nswprice', check: 'range', message: 'column nswprice: 12 values outside the allowed range [0, 1]: the column drifted beyond its old range' },
    { column: 'vicdemand', check: 'distribution', message: 'column vicdemand: distribution differs from the reference: broad shift, PSI=0.41' },
  ];
  const run = { ...promotedRun(), validation: { passed: true, failures: [], warnings, reportUri: 'file:///var/retrain/runs/elec2/3/validation.json' } };
  // Without the validation document: the run report's own warnings.
  const own = await renderRunReport(run, promotedDetail());
  assert.match(own.html, /<span class="pass">Passed<\/span>: 0 failing checks, <span class="warn">2 warnings<\/span>/);
  assert.match(own.html, /<table class="warnings"><thead><tr><th>column<\/th><th>check<\/th><th>reason<\/th><th>rows<\/th><\/tr><\/thead>/);
  assert.match(own.html, /<td>vicdemand<\/td><td>distribution<\/td><td>column vicdemand: distribution differs from the reference: broad shift, PSI=0\.41<\/td>/);
  assert.match(own.html, /<td>nswprice<\/td><td>range<\/td><td>column nswprice: 12 values outside the allowed range \[0, 1\]/);
  assert.match(own.markdown, /Passed: 0 failing checks, 2 warnings\./);
  assert.match(own.markdown, /### Warnings/);
  assert.match(own.markdown, /\| vicdemand \| distribution \| column vicdemand: distribution differs from the reference: broad shift, PSI=0\.41 \| — \|/);
  // With the document: all its warnings, with rows; a finding about the whole table says so.
  const doc = {
    ...passingValidationDocument(),
    warnings: [
      { column: 'nswprice', check: 'range', message: '12 values outside the allowed range [0, 1]', rows: [3, 8], count: 12 },
      { check: 'schema', message: 'extra column "note" not in the reference (ignored)' },
    ],
  };
  const full = await renderRunReport(run, promotedDetail(), doc);
  assert.match(full.html, /<span class="warn">2 warnings<\/span> on 538 rows/);
  assert.match(full.html, /<td>nswprice<\/td><td>range<\/td><td>12 values outside the allowed range \[0, 1\]<\/td><td>3, 8 … \(12 rows\)<\/td>/);
  assert.match(full.html, /<td>\(table\)<\/td><td>schema<\/td><td>extra column &quot;note&quot; not in the reference \(ignored\)<\/td>/);
  assert.match(full.markdown, /\| \(table\) \| schema \| extra column &quot;note&quot; not in the reference \(ignored\) \| — \|/);
  // A run with none says nothing about warnings.
  const none = await renderRunReport(promotedRun(), promotedDetail(), passingValidationDocument());
  assert.doesNotMatch(none.html, /Warnings|class="warn"/);
  assert.doesNotMatch(none.markdown, /Warnings/);
});

test('without the validation document the run report\u2019s own failures are shown', async () => {
  const { html: page } = await renderRunReport(validationFailedRun());
  assert.match(page, /column nswprice: 3 values out of range \[0, 1\] \(rows 4, 9, 17\)/);
  assert.match(page, /2 failing checks\./);
});

test('an evaluated run without its evaluation detail draws the forest plot and says where the detail was', async () => {
  const { html: page } = await renderRunReport(promotedRun());
  assert.deepEqual(chartsIn(page).sort(), ['forest', 'timeline']);
  assert.match(page, /No per-slice metrics: the evaluation detail \(file:\/\/\/var\/retrain\/runs\/elec2\/3\/evaluation\.json\) was not available to the report\./);
  assert.match(page, /No feature drift: the evaluation detail/);
});

test('a stage that never finished is drawn up to the end of the run and labelled so', async () => {
  const run = { ...promotedRun(), decision: 'failed' as const, decidedBy: undefined, error: 'train: CommandFailed: exit 137' };
  const timeline = [...run.timeline.slice(0, 2), { stage: 'train' as const, startedAt: run.timeline[2].startedAt, retries: 3 }];
  const { html: page } = await renderRunReport({ ...run, timeline, evaluation: undefined, gate: undefined, rollout: undefined });
  assert.match(page, /did not finish/);
  assert.match(page, /3 retries/);
  assert.match(page, /<code>train: CommandFailed: exit 137<\/code>/);
  assert.match(page, /<th>Decided by<\/th><td>the system \(the run failed\)<\/td>/);
});

test('the monitor report draws accuracy over time with every retrain, promotion and rollback', async () => {
  const { html: page, markdown } = await renderMonitorReport(monitorHistory());
  assert.deepEqual(chartsIn(page), ['monitor']);
  assert.match(page, /30 checked batches \(0 to 29\)/);
  assert.match(page, /2 retrains, 2 promotions, 1 rollback/);
  assert.match(page, /rollback v7/, 'event label in the chart');
  assert.ok(page.includes('operator &lt;b&gt;dave&lt;/b&gt;: live accuracy regressed'));
  assert.ok(!page.includes('<script'));
  assert.match(markdown, /\| 2024-08-10 00:00:00 UTC \| rollback \| v7 \| — \| operator &lt;b&gt;dave&lt;\/b&gt;: live accuracy regressed \|/);
});

test('a monitor with no history yet says so instead of drawing an empty chart', async () => {
  const { html: page } = await renderMonitorReport({ model: 'fresh', points: [], events: [] });
  assert.deepEqual(chartsIn(page), []);
  assert.match(page, /No batch has been checked with labels yet\./);
  assert.match(page, /Nothing to draw/);
});

test('writeRunReport stores the HTML and the Markdown under the run\u2019s key', async () => {
  const stored = new Map<string, string>();
  const sink = {
    async put(key: string, body: string | Uint8Array) {
      stored.set(key, typeof body === 'string' ? body : Buffer.from(body).toString());
      return `mem://${key}`;
    },
  };
  const uris = await writeRunReport(sink, validationFailedRun());
  assert.deepEqual(uris, { htmlUri: 'mem://reports/elec2/4.html', markdownUri: 'mem://reports/elec2/4.md' });
  assert.match(stored.get('reports/elec2/4.html') ?? '', /^<!DOCTYPE html>/);
  assert.match(stored.get('reports/elec2/4.md') ?? '', /validation\\_failed/);
});

test('formatting: escaping, numbers, p-values and durations', () => {
  assert.equal(html(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(md('a|b\nc_d'), 'a\\|b c\\_d');
  assert.equal(num(0.91234), '0.912');
  assert.equal(num(-0.004), '−0.004');
  assert.equal(num(12345.6), '12,346');
  assert.equal(num(0.00001), '1.0e-5');
  assert.equal(num(Number.NaN), '—');
  assert.equal(pValue(0.0004), '<0.001');
  assert.equal(pValue(0.0312), '0.031');
  assert.equal(duration(850), '850 ms');
  assert.equal(duration(4200), '4.2 s');
  assert.equal(duration(192_000), '3 min 12 s');
  assert.equal(duration(7_500_000), '2 h 5 min');
  assert.equal(duration(97_200_000), '1 d 3 h');
  assert.equal(duration(3_600_000), '1 h');
});

test('a warm-started candidate names the production version it continued from; a skipped warm start says why', async () => {
  const run = promotedRun();
  const warm = await renderRunReport({ ...run, train: { ...run.train!, warmStartedFrom: 6 } }, promotedDetail(), passingValidationDocument());
  assert.match(warm.html, /<th>Started from<\/th><td>production v6 \(warm start\)<\/td>/);
  assert.match(warm.markdown, /^- warm start: continued from production v6$/m);
  const skipped = await renderRunReport({ ...run, train: { ...run.train!, warmStartSkipped: 'v6: the features or categories differ from production\'s (day: <new>)' } }, promotedDetail(), passingValidationDocument());
  assert.match(skipped.html, /<th>Warm start<\/th><td>skipped, fitted from scratch: v6: the features or categories differ from production&#39;s \(day: &lt;new&gt;\)<\/td>/);
  assert.doesNotMatch(skipped.html, /Started from/);
  const cold = await renderRunReport(run, promotedDetail(), passingValidationDocument());
  assert.doesNotMatch(cold.html, /Started from|Warm start/);
});
