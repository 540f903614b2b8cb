/**
 * The demo as one call: write the stream and the config under RETRAIN_HOME/demo/, clear what an earlier demo left
 * in the store for the demo model (a fresh in-memory server has no memory of it, and its old production alias would
 * make the new initial run's compare-and-set fail), then run the story. `npm start` uses the defaults; the
 * end-to-end test passes faster settings.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { monitorWorkflowId } from '../../workflows/definitions';
import { DEMO_MODEL, DEMO_OPERATOR, demoConfig } from './config';
import { writeDemoData } from './data';
import type { ProgressDisplay } from './progress';
import { runDemoStory, type DemoOutcome } from './story';

export { DEMO_MODEL, DEMO_OPERATOR } from './config';
export type { DemoOutcome } from './story';

export interface DemoSettings {
  readonly batchRows: number;
  readonly batches: number;
  readonly everyMs: number;
  readonly driftAtBatch: number;
  readonly observeMs: number;
  readonly approvalPauseMs: number;
}

/**
 * `npm start`'s pace. The initial run is approved and promoted within about 10 s of the first batch on a 2-core
 * machine; the drift at batch 15 (30 s) leaves room for a slower machine, and production must have scored a few
 * pre-drift batches for the detector to learn its normal error rate. The stream ends after 40 batches (80 s): the
 * system is then quiet while the CLI is tried, and the detector, which keeps its state across the model change, has
 * no more batches to raise a late alarm on as its running mean settles to the new model's lower error rate.
 */
export const DEFAULT_DEMO: DemoSettings = {
  batchRows: 1000,
  batches: 40,
  everyMs: 2000,
  driftAtBatch: 15,
  observeMs: 4000,
  approvalPauseMs: 15_000,
};

export interface DemoOptions {
  readonly client: Client;
  readonly home: string;
  readonly display: ProgressDisplay;
  readonly settings?: Partial<DemoSettings>;
  /** Who may also approve, and whose name the printed command uses. */
  readonly you: string;
  readonly cli: string;
  readonly signal?: AbortSignal;
}

/** Store keys (and RETRAIN_HOME folders) that hold one model's state. */
const MODEL_STATE = ['registry', 'predictions', 'outcomes', 'reports', 'runs', 'labeling'];

export async function runDemo(o: DemoOptions): Promise<DemoOutcome> {
  const s = { ...DEFAULT_DEMO, ...o.settings };
  const dir = join(o.home, 'demo');
  const running = await o.client.workflow
    .getHandle(monitorWorkflowId(DEMO_MODEL))
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch(() => false);
  if (!running) {
    for (const folder of MODEL_STATE) rmSync(join(o.home, folder, DEMO_MODEL), { recursive: true, force: true });
  }
  const data = writeDemoData(dir, { batchRows: s.batchRows, batches: s.batches, driftAtBatch: s.driftAtBatch });
  const config = demoConfig({ csvPath: data.path, batchRows: s.batchRows, everyMs: s.everyMs, batches: s.batches, observeMs: s.observeMs, approvers: [o.you] });
  // The config as a file too, so `retrain config validate` and `retrain monitor start --config` can be tried on it.
  writeFileSync(join(dir, 'demo.model.json'), `${JSON.stringify(config, null, 2)}\n`);
  o.display.event(
    `Demo: ${data.rows} rows of a rotating-hyperplane stream in ${s.batches} batches of ${s.batchRows}, one every ${s.everyMs / 1000} s; ` +
      `the concept changes suddenly at batch ${s.driftAtBatch}.`,
  );
  return runDemoStory({
    client: o.client,
    config,
    display: o.display,
    operator: DEMO_OPERATOR,
    you: o.you,
    approvalPauseMs: s.approvalPauseMs,
    cli: o.cli,
    totalBatches: s.batches,
    // A running monitor is the previous session's, journaled by the server: its runs are history, not news.
    resume: running,
    ...(o.signal ? { signal: o.signal } : {}),
  });
}
