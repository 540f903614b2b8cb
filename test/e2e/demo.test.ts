/**
 * The `npm start` demo end to end, accelerated: the embedded server, the real workers of both task queues and the
 * serving endpoint in this process (scripts/demo/system.ts), the demo's own stream and config with batches every
 * second and a one-second canary, and nobody at the keyboard, so the demo approves. The story must run from the
 * initial run to a drift-triggered run in production: decision, the registry's production alias, and the HTML report
 * on disk. Also `npm start`'s command line: `--help`, a bad port, a taken port, and the CLI commands it prints
 * carrying the environment they need.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runDemo, DEMO_MODEL, DEMO_OPERATOR, type DemoOutcome } from '../../scripts/demo';
import { createDisplay } from '../../scripts/demo/progress';
import { dbFilenameSupported, startSystem, type System } from '../../scripts/demo/system';
import { runStatusQuery, Stages, TriggerKinds } from '../../workflows/definitions';
import { afterDemo, cliPrefix } from '../../scripts/start';
import { formatRegistryView, readRegistryView } from '../../scripts/cli/commands/show-monitor';
import { retrain } from '../cli/helpers';

const ROOT = resolve(__dirname, '..', '..');

describe('npm start demo (accelerated)', () => {
  let home: string;
  let system: System | undefined;
  const printed: string[] = [];
  let outcome: DemoOutcome;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'retrain-e2e-demo-'));
    system = await startSystem({ port: 0, httpPort: 0, home, logFile: join(home, 'logs', 'retrain.log') });
    const display = createDisplay({ tty: false, write: (s) => void printed.push(s) });
    outcome = await runDemo({
      client: system.client,
      home,
      display,
      you: 'alice',
      cli: 'npx retrain',
      // Batches every second; the drift at batch 15 leaves the initial run (a few seconds) time to reach production
      // and production time to score pre-drift batches, which the detector needs to know the normal error rate.
      settings: { batchRows: 1000, batches: 30, everyMs: 1000, driftAtBatch: 15, observeMs: 1000, approvalPauseMs: 0 },
    });
    // A safety net so a broken system fails this file instead of hanging it; the demo itself takes well under it.
  }, { timeout: 180_000 });
  after(async () => {
    await system?.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('the initial run is promoted, then the drift is detected and its run promoted on the demo operator’s approval', async () => {
    assert.equal(outcome.decision, 'promoted');
    assert.equal(outcome.decidedBy, DEMO_OPERATOR);
    assert.deepEqual(outcome.runs[0], { workflowId: `retrain/${DEMO_MODEL}/1`, trigger: TriggerKinds.initial, decision: 'promoted' });
    const run = outcome.runs.find((r) => r.workflowId === outcome.runWorkflowId);
    assert.equal(run?.trigger, TriggerKinds.drift);
  });

  test('the hints printed after the demo say who can approve a run the person starts, naming someone other than them', () => {
    assert.deepEqual([...outcome.approvers].sort(), [DEMO_OPERATOR, 'alice'].sort());
    const text = afterDemo(outcome, 'npx retrain', 'http://127.0.0.1:8080', 60);
    assert.match(text, /npx retrain run demo --as alice --reason "try it" --wait/);
    assert.ok(text.includes(`approval by one of ${outcome.approvers.join(', ')}, never by who asked for it: npx retrain approve RUN --as ${DEMO_OPERATOR}`), text);
  });

  test('the registry’s production alias points at the drift run’s candidate', async () => {
    const status = await system!.client.workflow.getHandle(outcome.runWorkflowId).query(runStatusQuery);
    const production = await system!.deps.registry.getAlias(DEMO_MODEL, 'production');
    assert.ok(status.candidateVersion !== undefined);
    assert.equal(production?.version, status.candidateVersion);
    assert.equal(await system!.deps.registry.getAlias(DEMO_MODEL, 'canary'), null);
  });

  test('the drift run’s HTML report is on disk under RETRAIN_HOME', () => {
    assert.ok(outcome.reportHtml, `no report.html beside ${outcome.reportUri}`);
    assert.ok(outcome.reportHtml.startsWith(home));
    assert.ok(existsSync(outcome.reportHtml));
    assert.match(readFileSync(outcome.reportHtml, 'utf8'), /promoted/);
  });

  test('the demo printed the exact approve command for the drift run, and the serving endpoint answers with the new model', async () => {
    const text = printed.join('');
    assert.ok(text.includes(`npx retrain approve ${outcome.runWorkflowId} --as alice`), text);
    const production = await system!.deps.registry.getAlias(DEMO_MODEL, 'production');
    const r = await fetch(`${system!.serving.url}/v1/models/${DEMO_MODEL}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rows: [{ x1: 0.1, x2: 0.9, x3: 0.5, x4: 0.3, x5: 0.7 }] }),
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { predictions: { version: number }[] };
    assert.equal(body.predictions[0].version, production?.version);
  });

  test('the drift run’s promotion is told once, with its own promotion time, which the closing summary uses too', async () => {
    const status = await system!.client.workflow.getHandle(outcome.runWorkflowId).query(runStatusQuery);
    const promote = status.timeline.find((r) => r.stage === Stages.promote);
    assert.ok(promote, JSON.stringify(status.timeline));
    // The run's own moment (its promote stage), not when the story noticed it or ended.
    assert.equal(outcome.promotedAt, Date.parse(promote.startedAt));
    const told = printed.join('').split('\n').filter((l) => l.includes('The drift is handled'));
    assert.deepEqual(told, [`The drift is handled: ${outcome.runWorkflowId} reached production ${((outcome.promotedAt - outcome.monitorStartedAt) / 1000).toFixed(1)} s after the monitor started.`]);
    assert.ok(afterDemo(outcome, 'npx retrain', 'http://127.0.0.1:8080', 42).includes(`Demo finished: ${outcome.runWorkflowId} promoted 42.0 s after npm start.`));
  });

  test('the progress log names every stage the drift run passed through, in its timeline’s order, even those between two polls', async () => {
    const status = await system!.client.workflow.getHandle(outcome.runWorkflowId).query(runStatusQuery);
    const line = new RegExp(`^${outcome.runWorkflowId} \\(drift\\): (\\w+)`);
    const dedupe = (xs: string[]) => xs.filter((x, i) => x !== xs[i - 1]);
    const logged = dedupe(printed.join('').split('\n').flatMap((l) => line.exec(l)?.[1] ?? []));
    // promote opens just before the decision: the decision's line may stand for it when both came in one poll.
    const expected = dedupe(status.timeline.map((r) => r.stage)).filter((st) => st !== Stages.promote);
    assert.deepEqual(logged.filter((st) => st !== Stages.promote), expected, printed.join(''));
    for (const st of [Stages.collect, Stages.train, Stages.gate]) assert.ok(logged.includes(st), st);
    // The approval request is told after the gate line it follows from, not before the evaluate and gate lines.
    const lines = printed.join('').split('\n');
    const gateAt = lines.findIndex((l) => l.startsWith(`${outcome.runWorkflowId} (drift): ${Stages.gate}`));
    const waitAt = lines.findIndex((l) => l.startsWith(`${outcome.runWorkflowId} is blessed and waits for approval`));
    assert.ok(gateAt >= 0 && waitAt > gateAt, `gate line ${gateAt}, approval request ${waitAt}:\n${printed.join('')}`);
  });

  test('started again with the monitor still running (a restart with the same journal), the demo says it resumes and re-tells nothing', async () => {
    const again: string[] = [];
    const resumed = await runDemo({
      client: system!.client,
      home,
      display: createDisplay({ tty: false, write: (s) => void again.push(s) }),
      you: 'alice',
      cli: 'npx retrain',
      settings: { batchRows: 1000, batches: 30, everyMs: 1000, driftAtBatch: 15, observeMs: 1000, approvalPauseMs: 0 },
    });
    const text = again.join('');
    assert.match(text, /Resuming the demo: monitor\/demo has been running since \d{4}-\d\d-\d\dT[^;]+; production v\d+; last run retrain\/demo\/\d+ /);
    for (const old of ['Started monitor/demo', 'Drift detected', 'The drift is handled', 'approved retrain/']) assert.ok(!text.includes(old), `${old} re-told:\n${text}`);
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.runWorkflowId, outcome.runWorkflowId);
    assert.equal(resumed.promotedAt, outcome.promotedAt);
    const summary = afterDemo(resumed, 'npx retrain', 'http://127.0.0.1:8080', 3);
    assert.ok(summary.includes(`Demo finished in an earlier session: ${outcome.runWorkflowId} promoted at ${new Date(outcome.promotedAt).toISOString()}.`), summary);
    assert.ok(!summary.includes('after npm start'), summary);
  });

  // Last: it moves production back, which the tests above must not see.
  test('retrain monitor status shows the registry’s aliases after an operator’s rollback, flagging the monitor’s stale view', async () => {
    const registry = system!.deps.registry;
    const initial = await system!.client.workflow.getHandle(outcome.runs[0].workflowId).query(runStatusQuery);
    const current = await registry.getAlias(DEMO_MODEL, 'production');
    await registry.moveAlias(DEMO_MODEL, 'production', { to: initial.candidateVersion!, expected: current!.version, by: 'ana', reason: 'bad canary' });
    const r = await retrain(['monitor', 'status', DEMO_MODEL], { RETRAIN_HOME: home, TEMPORAL_ADDRESS: system!.address, TEMPORAL_NAMESPACE: system!.namespace, NO_COLOR: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`registry: production v${initial.candidateVersion} \\(moved by ana \\d+ s ago: bad canary\\)`));
    // The monitor refreshes its copy on its batch checks, which may or may not have come since the move: the flag
    // must match the monitor's view printed in the same output.
    const seen = Number(/production: v(\d+)/.exec(r.stdout)?.[1]);
    assert.equal(r.stdout.includes(`the monitor last saw v${seen}`), seen !== initial.candidateVersion, r.stdout);
    // Deterministically: a stale monitor view is flagged; an unreachable store is said so and the monitor's view kept.
    const view = await readRegistryView(DEMO_MODEL, `file://${home}`);
    const stale = { productionVersion: current!.version } as Parameters<typeof formatRegistryView>[1];
    assert.match(formatRegistryView(view, stale), new RegExp(`production v${initial.candidateVersion} \\(moved by ana .*; the monitor last saw v${current!.version}`));
    const unreachable = await readRegistryView(DEMO_MODEL, 'nope://nowhere');
    assert.ok('error' in unreachable);
    assert.match(formatRegistryView(unreachable, stale), /registry: not reachable.*showing the monitor's view only/);
  });
});

describe('npm start command line', () => {
  const npmStart = (...args: string[]) => spawnSync('npm', ['start', '--silent', '--', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

  test('--help lists every option and exits 0', () => {
    const r = npmStart('--help');
    assert.equal(r.status, 0, r.stderr);
    for (const option of ['--port', '--http-port', '--home', '--no-demo', '--config', '--approve-after', ...(dbFilenameSupported() ? ['--db-filename'] : [])]) {
      assert.ok(r.stdout.includes(option), `${option} missing from:\n${r.stdout}`);
    }
  });

  test('--port abc exits 2 naming the option and the value', () => {
    const r = npmStart('--port', 'abc');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--port: expected a port number 0-65535, got "abc"/);
  });

  test('an unknown option exits 2', () => {
    const r = npmStart('--colour');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--colour/);
  });

  test('a taken Temporal port exits 1 with npm start\'s own message and no raw grpc log line', async () => {
    const holder = createServer();
    await new Promise<void>((ok) => holder.listen(0, '127.0.0.1', ok));
    const port = (holder.address() as AddressInfo).port;
    const home = mkdtempSync(join(tmpdir(), 'retrain-e2e-port-'));
    try {
      // Asynchronous: the test process must stay responsive while npm start runs (the holder's socket is in it).
      const r = await new Promise<{ status: number | null; stderr: string; stdout: string }>((ok) => {
        const child = spawn('npm', ['start', '--silent', '--', '--port', String(port), '--http-port', '0', '--home', home, '--no-demo'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
        let stderr = '';
        let stdout = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.stdout.on('data', (d) => (stdout += d));
        child.on('close', (status) => ok({ status, stderr, stdout }));
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`port ${port} is already in use \\(another Temporal server or npm start\\?\\): stop it, or pick another with --port`));
      assert.doesNotMatch(r.stderr + r.stdout, /No address added/);
    } finally {
      holder.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('--config prints the config\'s warnings before anything starts, as `retrain config validate` does', async () => {
    const holder = createServer();
    await new Promise<void>((ok) => holder.listen(0, '127.0.0.1', ok));
    const port = (holder.address() as AddressInfo).port;
    const home = mkdtempSync(join(tmpdir(), 'retrain-e2e-config-'));
    const file = join(home, 'model.json');
    writeFileSync(file, JSON.stringify({ model: 'fraud', data: { source: { kind: 'csv-replay', path: 'nowhere.csv' }, label: 'y', positive: '1' } }));
    try {
      // The taken port ends npm start right after the config is read: the warning must already be out.
      const r = await new Promise<{ status: number | null; stderr: string }>((ok) => {
        const child = spawn('npm', ['start', '--silent', '--', '--config', file, '--port', String(port), '--http-port', '0', '--home', home], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (status) => ok({ status, stderr }));
      });
      assert.equal(r.status, 1, r.stderr);
      assert.ok(r.stderr.includes(`${file}: warning: data.source.path: no file at ${join(home, 'nowhere.csv')} (the monitor sees no batches until it exists)`), r.stderr);
      assert.match(r.stderr, /is already in use/);
    } finally {
      holder.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('the printed CLI commands carry RETRAIN_HOME and TEMPORAL_ADDRESS when they are not the CLI\'s defaults', () => {
    const cwd = '/work/project';
    assert.equal(cliPrefix('127.0.0.1:7233', '/work/project/.retrain', cwd), 'npx retrain');
    assert.equal(cliPrefix('127.0.0.1:7233', '/data/retrain', cwd), 'RETRAIN_HOME=/data/retrain npx retrain');
    assert.equal(cliPrefix('127.0.0.1:7300', '/work/project/.retrain', cwd), 'TEMPORAL_ADDRESS=127.0.0.1:7300 npx retrain');
    assert.equal(cliPrefix('127.0.0.1:7300', '/tmp/my home', cwd), "RETRAIN_HOME='/tmp/my home' TEMPORAL_ADDRESS=127.0.0.1:7300 npx retrain");
  });
});
