/**
 * The demo's story, driven through the same client API any Retrain user has: start the model's monitor (an
 * update-with-start of `configure`, as `retrain monitor start` does), then follow it by its `status` queries while
 * it makes the initial run, promotes it, detects the drift and makes a second run. The demo plays the operator: it
 * approves the initial run at once, and for the drift run prints the exact `retrain approve` command and waits a
 * while so a person can run it, approving as `demo-operator` only if nobody did. It ends when a run after the
 * initial one is promoted, with the path of that run's HTML report; a run that ends otherwise is told and the story
 * goes on, as the monitor does.
 */
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import {
  approvePromotionUpdate,
  configureUpdate,
  Decisions,
  MonitorStages,
  monitorStatusQuery,
  monitorWorkflowId,
  RetrainModel,
  RetrainStage,
  runStatusQuery,
  runWorkflowId,
  Stages,
  TASK_QUEUE,
  TriggerKinds,
  WorkflowTypes,
  type Decision,
  type ModelConfigInput,
  type MonitorInput,
  type MonitorStatus,
  type RunStatus,
} from '../../workflows/definitions';
import type { ProgressDisplay, RunView } from './progress';

export interface DemoStoryOptions {
  readonly client: Client;
  readonly config: ModelConfigInput;
  readonly display: ProgressDisplay;
  /** The approver the demo acts as when nobody else answers. */
  readonly operator: string;
  /** The name the printed approve command uses (someone in the config's approvers). */
  readonly you: string;
  /** How long the demo leaves the drift run's approval to a person before approving itself, in ms. */
  readonly approvalPauseMs: number;
  /** The prefix of the printed CLI commands (`npx retrain`, with TEMPORAL_ADDRESS when not the default). */
  readonly cli: string;
  /** Batches in the stream, for the monitor's line. */
  readonly totalBatches?: number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  /** `by` of the configure update. */
  readonly by?: string;
  /**
   * The demo's monitor was already running (a durable server restarted with the same RETRAIN_HOME): the story says
   * it resumes and narrates only what happens from now on, never the runs that were decided before.
   */
  readonly resume?: boolean;
}

export interface DemoOutcome {
  readonly runWorkflowId: string;
  readonly decision: Decision;
  readonly decidedBy?: string;
  readonly reportUri?: string;
  /** The HTML report on disk, when the artifact store is local and it was written. */
  readonly reportHtml?: string;
  /** Every run the monitor made, in order, with its decision. */
  readonly runs: readonly { workflowId: string; trigger: string; decision: Decision | null }[];
  /** Who may approve the demo model's promotions (the one who asked for a run may not approve it). */
  readonly approvers: readonly string[];
  /** The name the printed commands use for the person at the keyboard. */
  readonly you: string;
  /** When the run reached production (epoch ms), from its own timeline: not when the story noticed or ended. */
  readonly promotedAt: number;
  /** When this story started (or resumed) the monitor (epoch ms). */
  readonly monitorStartedAt: number;
  /** The story had already been told in an earlier session: the run was promoted before this one resumed. */
  readonly resumed?: boolean;
}

/** The story cannot go on (the initial run was not promoted). */
export class DemoError extends Error {}

/** The local path of a run's report.html, from the JSON report's file:// URI. */
export function reportHtmlPath(reportUri: string | undefined): string | undefined {
  if (!reportUri?.startsWith('file://')) return undefined;
  return fileURLToPath(reportUri).replace(/report\.json$/, 'report.html');
}

export async function startMonitor(client: Client, config: ModelConfigInput, by: string): Promise<void> {
  const input: MonitorInput = { config };
  const startOp = new WithStartWorkflowOperation(WorkflowTypes.modelMonitor, {
    workflowId: monitorWorkflowId(config.model),
    taskQueue: TASK_QUEUE,
    args: [input],
    // A monitor already running (a durable server restarted) gets the config applied instead of a second start.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: new TypedSearchAttributes([
      { key: RetrainModel, value: config.model },
      { key: RetrainStage, value: MonitorStages.watching },
    ]),
  });
  await client.workflow.executeUpdateWithStart(configureUpdate, { args: [{ config, by }], startWorkflowOperation: startOp });
}

/** Starts the monitor and follows it until a run after the initial one is promoted. */
export async function runDemoStory(o: DemoStoryOptions): Promise<DemoOutcome> {
  const { client, display } = o;
  const model = o.config.model;
  const t0 = Date.now();
  await startMonitor(client, o.config, o.by ?? o.operator);
  const monitor = client.workflow.getHandle(monitorWorkflowId(model));
  /** Runs decided before a resumed story: history, which the story neither narrates nor ends on. */
  const past = new Set<string>();
  if (o.resume) {
    const [status, description] = await Promise.all([queryUntilAnswered(monitor, o.pollMs, o.signal), monitor.describe()]);
    for (const r of status.runs) if (r.decision !== null) past.add(r.workflowId);
    display.event(resumeLine(monitorWorkflowId(model), description.startTime, status));
    // The drift has already been handled in an earlier session: the story is told; say so once and end.
    const handled = status.runs.find((r) => r.trigger !== TriggerKinds.initial && r.decision === Decisions.promoted);
    if (handled) {
      const run = await client.workflow.getHandle(handled.workflowId).query(runStatusQuery);
      return outcomeOf(handled.workflowId, run, status, o, promotionTime(run), t0, true);
    }
  } else {
    display.event(`Started ${monitorWorkflowId(model)}; it replays ${o.totalBatches ?? 'the'} batches of ${describeSource(o.config)}.`);
  }

  const finished = new Map<string, RunStatus>();
  const approvals = new Map<string, Promise<void>>();
  /** Approval requests seen in this poll, started once the display has shown its stage lines. */
  const approvalStarts: Array<() => void> = [];
  let driftAnnounced = false;
  const announced = new Set<string>();
  /** The first run after the initial one seen promoted, and when it reached production: later runs never change it. */
  let handled: { workflowId: string; at: number } | undefined;

  const approve = async (workflowId: string, comment: string): Promise<void> => {
    try {
      await client.workflow.getHandle(workflowId).executeUpdate(approvePromotionUpdate, { args: [{ approver: o.operator, comment }] });
      display.event(`${o.operator} approved ${workflowId}.`);
    } catch (e) {
      // Someone (the person at the keyboard) answered first; the validator says so, and that is the point.
      const msg = (e as Error).message;
      if (!/already (approved|rejected)|not approve/.test(msg)) display.event(`Could not approve ${workflowId} as ${o.operator}: ${msg}`);
    }
  };

  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
    let status: MonitorStatus;
    try {
      status = await monitor.query(monitorStatusQuery);
    } catch {
      // The first workflow task may not have run yet; the query answers once it has.
      await delay(o.pollMs ?? 300);
      continue;
    }
    const views: RunView[] = [];
    for (const summary of status.runs) {
      if (past.has(summary.workflowId)) continue;
      let run = finished.get(summary.workflowId);
      if (!run) {
        try {
          run = await client.workflow.getHandle(summary.workflowId).query(runStatusQuery);
        } catch {
          continue;
        }
        // The decision comes before the wrap-up (compensation, the report, telling the monitor): a run is finished
        // for the story once its workflow has closed, and its last status then carries the report's URI.
        if (run.decision !== null && run.stage === Stages.done) {
          const handle = client.workflow.getHandle(summary.workflowId);
          if ((await handle.describe()).status.name !== 'RUNNING') {
            run = await handle.query(runStatusQuery);
            finished.set(summary.workflowId, run);
          }
        }
      }
      views.push(viewOf(run, summary.workflowId, summary.startedAt));

      if (!handled && run.trigger.kind !== TriggerKinds.initial && run.decision === Decisions.promoted) {
        // Told the moment the decision shows, with the run's own promotion time: the report and the workflow's close
        // come later, and a later run (another drift, another approval) must not delay or rename this moment.
        handled = { workflowId: summary.workflowId, at: promotionTime(run) };
        display.event(`The drift is handled: ${summary.workflowId} reached production ${((handled.at - t0) / 1000).toFixed(1)} s after the monitor started.`);
      }

      if (run.trigger.kind === TriggerKinds.drift && !driftAnnounced) {
        driftAnnounced = true;
        display.event(`Drift detected: ${run.trigger.detail}. The monitor started ${summary.workflowId}.`);
      }
      if (run.stage === Stages.approve && run.decision === null && !approvals.has(summary.workflowId)) {
        // Started after the display shows this poll's stage lines, so that "waits for approval" follows the
        // evaluate and gate lines it comes from.
        const start = () =>
          run.trigger.kind === TriggerKinds.initial
            ? approve(summary.workflowId, 'the demo approves the initial model at once')
            : (async () => {
                const seconds = Math.round(o.approvalPauseMs / 1000);
                display.event(
                  [
                    `${summary.workflowId} is blessed and waits for approval (${run.blessing?.summary ?? 'see its status'}).`,
                    `  Approve it yourself:  ${o.cli} approve ${summary.workflowId} --as ${o.you}`,
                    `  (or reject it: ${o.cli} reject ${summary.workflowId} --as ${o.you} --reason "…"); the demo approves as ${o.operator} in ${seconds} s otherwise.`,
                  ].join('\n'),
                );
                await sleepUnlessAnswered(client, summary.workflowId, o.approvalPauseMs, o.signal);
                const now = await client.workflow.getHandle(summary.workflowId).query(runStatusQuery);
                if (now.stage === Stages.approve && now.decision === null) await approve(summary.workflowId, `nobody answered within ${seconds} s`);
              })();
        approvalStarts.push(() => approvals.set(summary.workflowId, start()));
      }
    }
    display.update({
      monitor: {
        workflowId: monitorWorkflowId(model),
        state: status.paused ? MonitorStages.paused : status.activeRun ? MonitorStages.running : MonitorStages.watching,
        arrived: status.batches?.arrived ?? 0,
        ...(o.totalBatches ? { total: o.totalBatches } : {}),
        productionVersion: status.productionVersion,
        ...(status.canary ? { canary: status.canary } : {}),
        ...(status.batches?.lastAccuracy !== undefined ? { lastAccuracy: status.batches.lastAccuracy } : {}),
      },
      runs: views,
    });
    for (const start of approvalStarts.splice(0)) start();

    const initial = [...finished.values()].find((r) => r.trigger.kind === TriggerKinds.initial);
    if (initial && initial.decision !== Decisions.promoted) {
      // The monitor makes one initial run; without a production model there is nothing for the drift to degrade,
      // so the story cannot go on. The system stays up for the person to look into it.
      const why = initial.error ?? initial.blessing?.summary ?? initial.validation?.failures.map((f) => f.message).join('; ') ?? '';
      throw new DemoError(`the initial run ${runWorkflowId(model, initial.n)} ended ${initial.decision}${why ? `: ${why}` : ''}`);
    }
    for (const [id, run] of finished) {
      if (run.decision !== Decisions.promoted && !announced.has(id)) {
        announced.add(id);
        display.event(`${id} ended ${run.decision}${run.error ? `: ${run.error}` : run.blessing && !run.blessing.promote ? `: ${run.blessing.summary}` : ''}; the monitor keeps watching.`);
      }
    }
    // The story ends once the handled run's workflow has closed (its last status carries the report's URI). Only
    // its own approval is awaited: a later run's pause for a person is that run's business, not this story's end.
    const done = handled && finished.get(handled.workflowId);
    if (handled && done) {
      await approvals.get(handled.workflowId);
      const outcome = outcomeOf(handled.workflowId, done, status, o, handled.at, t0, false, finished);
      if (outcome.reportHtml) display.event(`Report: ${outcome.reportHtml}`);
      return outcome;
    }
    await delay(o.pollMs ?? 300);
  }
}

/**
 * The moment a promoted run reached production, from its timeline: the start of its promote stage, whose first act
 * moves the alias (its end waits for the wrap-up, so it is unset when the decision is first seen). The same value
 * whenever it is read, so the story's line and the closing summary agree.
 */
export function promotionTime(run: RunStatus): number {
  const promote = run.timeline.find((r) => r.stage === Stages.promote);
  const last = run.timeline[run.timeline.length - 1];
  const at = promote?.startedAt ?? last?.startedAt;
  return at ? Date.parse(at) : Date.now();
}

function outcomeOf(
  workflowId: string,
  run: RunStatus,
  status: MonitorStatus,
  o: DemoStoryOptions,
  promotedAt: number,
  monitorStartedAt: number,
  resumed: boolean,
  finished: ReadonlyMap<string, RunStatus> = new Map(),
): DemoOutcome {
  const reportHtml = reportHtmlPath(run.reportUri);
  return {
    runWorkflowId: workflowId,
    decision: run.decision!,
    ...(run.decidedBy ? { decidedBy: run.decidedBy } : {}),
    ...(run.reportUri ? { reportUri: run.reportUri } : {}),
    ...(reportHtml && existsSync(reportHtml) ? { reportHtml } : {}),
    runs: status.runs.map((r) => ({ workflowId: r.workflowId, trigger: r.trigger, decision: finished.get(r.workflowId)?.decision ?? r.decision })),
    approvers: o.config.promotion?.approvers ?? [],
    you: o.you,
    promotedAt,
    monitorStartedAt,
    ...(resumed ? { resumed } : {}),
  };
}

/** What a resumed story says first: how long the monitor has run, production, and the last run's outcome. */
export function resumeLine(monitorId: string, since: Date, status: MonitorStatus): string {
  const last = status.runs[status.runs.length - 1];
  return [
    `Resuming the demo: ${monitorId} has been running since ${since.toISOString()}`,
    status.productionVersion === null ? 'no production model yet' : `production v${status.productionVersion}`,
    last ? `last run ${last.workflowId} ${last.decision ?? 'running'}` : 'no run yet',
  ].join('; ');
}

/** The monitor's status, once its first workflow task has run (a query before that fails). */
async function queryUntilAnswered(monitor: ReturnType<Client['workflow']['getHandle']>, pollMs = 300, signal?: AbortSignal): Promise<MonitorStatus> {
  for (;;) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    try {
      return await monitor.query(monitorStatusQuery);
    } catch {
      await delay(pollMs);
    }
  }
}

/** Waits out the pause, returning early once the run leaves the approve stage (someone answered). */
async function sleepUnlessAnswered(client: Client, workflowId: string, ms: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (signal?.aborted) return;
    await delay(Math.min(500, until - Date.now()));
    const s = await client.workflow.getHandle(workflowId).query(runStatusQuery).catch(() => undefined);
    if (s && (s.stage !== Stages.approve || s.decision !== null)) return;
  }
}

function viewOf(run: RunStatus, workflowId: string, startedAt: string): RunView {
  const end = run.timeline.length && run.decision !== null ? Date.parse(run.timeline[run.timeline.length - 1].endedAt ?? run.timeline[run.timeline.length - 1].startedAt) : Date.now();
  let note: string | undefined;
  if (run.decision === null) {
    if (run.stage === Stages.approve && run.approval) note = `waiting for ${run.approval.approvers.join(' or ') || 'an approver other than the requester'}`;
    else if (run.stage === Stages.rollout && run.canary) note = `canary at ${Math.round(run.canary.weight * 100)}%`;
  }
  return {
    workflowId,
    trigger: run.trigger.kind,
    stage: run.stage,
    decision: run.decision,
    ...(run.decidedBy ? { decidedBy: run.decidedBy } : {}),
    timeline: run.timeline,
    elapsedSeconds: Math.max(0, (end - Date.parse(startedAt)) / 1000),
    ...(note ? { note } : {}),
  };
}

function describeSource(config: ModelConfigInput): string {
  const s = config.data.source;
  return s.kind === 'csv-replay' ? `${s.path}, ${s.batchRows ?? 1000} rows each` : s.kind;
}
