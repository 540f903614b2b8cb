/**
 * Opens rendered reports in a real browser, Debian's Chromium driven by playwright-core, the way a reader opens
 * them from disk: the page must load without console errors, request nothing but its own file, and show every
 * chart as a visible SVG with its marks drawn. CI installs the browser with `apt-get install -y chromium`; when
 * it is missing the tests fail and say so, because a skipped check would hide a broken report.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { renderMonitorReport, renderRunReport } from '../../reports';
import { monitorHistory, passingValidationDocument, promotedDetail, promotedRun, validationDocument, validationFailedRun } from './fixtures';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dir: string;
let context: BrowserContext;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: install Debian's browser with \`apt-get update && apt-get install -y chromium\``);
  dir = await mkdtemp(join(tmpdir(), 'retrain-reports-'));
  // A fresh profile per run: nothing cached or configured from an earlier run can hide a request.
  context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS });
});

after(async () => {
  await context?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface ChartSeen {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Drawn data marks (bars, points, rules, lines, labels), axes and legends excluded. */
  readonly marks: number;
}

/** Writes the page to disk, opens it from file://, and reports what a reader's browser saw. */
async function open(name: string, html: string) {
  const file = join(dir, `${name}.html`);
  await writeFile(file, html);
  const url = pathToFileURL(file).href;
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url, { waitUntil: 'load' });
  const charts: ChartSeen[] = await page.$$eval('figure.chart', (figures) =>
    figures.map((f) => {
      const svg = f.querySelector(':scope > svg');
      const box = svg?.getBoundingClientRect();
      return {
        name: f.getAttribute('data-chart') ?? '',
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        marks: svg ? svg.querySelectorAll('g.role-mark > path, g.role-mark > line, g.role-mark > text').length : 0,
      };
    }),
  );
  const scripts = await page.$$eval('script', (s) => s.length);
  const text = await page.innerText('body');
  await page.close();
  return { url, errors, requests, charts, scripts, text };
}

function assertCharts(seen: readonly ChartSeen[], expected: Readonly<Record<string, number>>): void {
  assert.deepEqual(seen.map((c) => c.name).sort(), Object.keys(expected).sort());
  for (const c of seen) {
    assert.ok(c.width > 0 && c.height > 0, `${c.name}: visible size ${c.width}×${c.height}`);
    assert.ok(c.marks >= expected[c.name], `${c.name}: ${c.marks} marks drawn, expected at least ${expected[c.name]}`);
  }
}

test('a promoted run\u2019s report opens from disk with every chart drawn, no errors and no requests', async () => {
  const { html } = await renderRunReport(promotedRun(), promotedDetail(), passingValidationDocument());
  const seen = await open('promoted', html);
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.requests, [seen.url], 'the only request is the file itself');
  // Minimum marks from the fixture: 8 stage bars + labels; 4 metrics × 2 models × (dot + interval); 2 slices ×
  // 2 metrics × 2 models × (bar + error bar); 2 groups × 4 rates × 2 × 2; 4 gap bars + 2 limit ticks; 17 non-empty
  // bins as points + 3 lines; 6 PSI + 5 KS bars, 6 missing-rate rules and 12 points.
  assertCharts(seen.charts, { timeline: 16, forest: 16, slices: 16, groups: 32, fairness: 6, calibration: 20, drift: 29 });
  assert.equal(seen.scripts, 0);
  assert.match(seen.text, /Predicts price <script>alert\("pwned"\)<\/script> & direction/, 'the description shows as text');
  assert.match(seen.text, /promoted/);
});

test('a run that failed validation opens cleanly and draws only its timeline', async () => {
  const { html } = await renderRunReport(validationFailedRun(), undefined, validationDocument());
  const seen = await open('validation-failed', html);
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.requests, [seen.url]);
  assertCharts(seen.charts, { timeline: 4 });
  assert.match(seen.text, /No holdout evaluation: the run ended as validation_failed/);
  assert.match(seen.text, /4, 9, 17/);
});

test('the monitor report opens cleanly with accuracy and every event marker drawn', async () => {
  const { html } = await renderMonitorReport(monitorHistory());
  const seen = await open('monitor', html);
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.requests, [seen.url]);
  // One accuracy line, 30 points, and a rule and a label for each of the 5 events.
  assertCharts(seen.charts, { monitor: 41 });
  assert.equal(seen.scripts, 0);
});
