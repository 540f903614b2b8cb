/**
 * The live progress display of `npm start`: the monitor's line and, per retraining run, its stage list. On a
 * terminal the block is redrawn in place with ANSI cursor movement, with events (drift detected, the approve
 * command, the report's path) printed above it as permanent lines; anywhere else (a file, a pipe, CI) the same
 * information comes out as plain lines, one per change, so a log reads as a story and never holds escape codes.
 */
import { Stages, type Decision, type Stage, type StageRecord } from '../../workflows/definitions';
import { stagesPassed } from '../cli/timeline';

/** The run stages the display lists, in order (`done` is not a stage one waits in). */
export const DISPLAY_STAGES: readonly Stage[] = [
  Stages.collect,
  Stages.validate,
  Stages.label,
  Stages.train,
  Stages.evaluate,
  Stages.gate,
  Stages.approve,
  Stages.rollout,
  Stages.promote,
];

export interface RunView {
  readonly workflowId: string;
  readonly trigger: string;
  readonly stage: Stage;
  readonly decision: Decision | null;
  readonly decidedBy?: string;
  readonly timeline: readonly StageRecord[];
  /** Seconds since the run started, as of the last look. */
  readonly elapsedSeconds?: number;
  readonly note?: string;
}

export interface MonitorView {
  readonly workflowId: string;
  readonly state: string;
  readonly arrived: number;
  readonly total?: number;
  readonly productionVersion: number | null;
  readonly canary?: { version: number; weight: number };
  readonly lastAccuracy?: number;
}

export interface Snapshot {
  readonly monitor?: MonitorView;
  readonly runs: readonly RunView[];
}

export interface ProgressDisplay {
  /** A permanent line (an event). */
  event(text: string): void;
  /** The current state; the display shows it (TTY) or prints what changed since the last one (plain). */
  update(snapshot: Snapshot): void;
  /** Leaves the last state on screen and stops redrawing. */
  stop(): void;
}

export interface DisplayOptions {
  readonly write: (text: string) => void;
  readonly tty: boolean;
  /** Colors on a TTY (NO_COLOR turns them off). */
  readonly color?: boolean;
  /** Seconds since the start, for the plain lines' prefix. */
  readonly clock?: () => number;
}

export function createDisplay(options: DisplayOptions): ProgressDisplay {
  return options.tty ? new TtyDisplay(options) : new PlainDisplay(options);
}

type StageState = 'done' | 'active' | 'pending' | 'skipped';

/** Each listed stage's state: done when the timeline closed it, active when open, skipped when the run passed it by. */
export function stageStates(run: RunView): { stage: Stage; state: StageState }[] {
  const seen = new Map<Stage, StageRecord>();
  for (const r of run.timeline) seen.set(r.stage, r);
  const reached = run.decision !== null ? DISPLAY_STAGES.length : DISPLAY_STAGES.indexOf(run.stage);
  return DISPLAY_STAGES.map((stage, i) => {
    const r = seen.get(stage);
    if (r) return { stage, state: r.endedAt || run.decision !== null ? 'done' : 'active' };
    return { stage, state: i < reached ? 'skipped' : 'pending' };
  });
}

function monitorLine(m: MonitorView): string {
  const parts = [`${m.workflowId}: ${m.state}`, `batch ${m.arrived}${m.total ? `/${m.total}` : ''}`];
  parts.push(m.productionVersion === null ? 'no production model yet' : `production v${m.productionVersion}`);
  if (m.canary) parts.push(`canary v${m.canary.version} at ${Math.round(m.canary.weight * 100)}%`);
  if (m.lastAccuracy !== undefined) parts.push(`production accuracy on the last labelled batch ${m.lastAccuracy.toFixed(3)}`);
  return parts.join(' · ');
}

const ANSI = { green: '\x1b[32m', yellow: '\x1b[33m', red: '\x1b[31m', dim: '\x1b[2m', bold: '\x1b[1m', reset: '\x1b[0m' };
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

class TtyDisplay implements ProgressDisplay {
  private lines = 0;
  private last: Snapshot = { runs: [] };
  private frame = 0;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: DisplayOptions) {
    // Redraws between updates too, so the spinner shows the process is alive while a stage takes its time.
    this.timer = setInterval(() => this.draw(), 120);
    this.timer.unref();
  }

  private paint(code: keyof typeof ANSI, text: string): string {
    return this.o.color === false ? text : `${ANSI[code]}${text}${ANSI.reset}`;
  }

  private block(s: Snapshot): string[] {
    const out: string[] = [];
    if (s.monitor) out.push(this.paint('bold', monitorLine(s.monitor)));
    for (const run of s.runs) {
      const stages = stageStates(run).map(({ stage, state }) => {
        if (state === 'done') return this.paint('green', `✓ ${stage}`);
        if (state === 'active') return this.paint('yellow', `${SPINNER[this.frame % SPINNER.length]} ${stage}`);
        if (state === 'skipped') return this.paint('dim', `– ${stage}`);
        return this.paint('dim', `· ${stage}`);
      });
      const end = run.decision
        ? this.paint(run.decision === 'promoted' ? 'green' : 'red', `→ ${run.decision}${run.decidedBy ? ` (approved by ${run.decidedBy})` : ''}`)
        : run.note
          ? this.paint('yellow', run.note)
          : '';
      const time = run.elapsedSeconds !== undefined ? this.paint('dim', ` ${run.elapsedSeconds.toFixed(0)}s`) : '';
      out.push(`  ${run.workflowId} (${run.trigger})${time}`);
      out.push(`    ${stages.join(' ')} ${end}`);
    }
    return out;
  }

  private draw(): void {
    if (this.stopped) return;
    this.frame++;
    this.redraw([]);
  }

  private redraw(above: string[]): void {
    const clear = this.lines > 0 ? `\x1b[${this.lines}F\x1b[0J` : '';
    const block = this.block(this.last);
    this.lines = block.length;
    const text = [...above, ...block].map((l) => `${l}\n`).join('');
    this.o.write(`${clear}${text}`);
  }

  event(text: string): void {
    if (this.stopped) return this.o.write(`${text}\n`);
    this.redraw(text.split('\n'));
  }

  update(snapshot: Snapshot): void {
    this.last = snapshot;
    if (!this.stopped) this.redraw([]);
  }

  stop(): void {
    if (this.stopped) return;
    this.redraw([]);
    this.stopped = true;
    clearInterval(this.timer);
  }
}

class PlainDisplay implements ProgressDisplay {
  private readonly seen = new Map<string, string>();
  /** Per run, the timeline records already printed (see stagesPassed). */
  private readonly printedStages = new Map<string, number>();
  private monitorKey = '';

  constructor(private readonly o: DisplayOptions) {}

  private line(text: string): void {
    const t = this.o.clock ? `[${this.o.clock().toFixed(1).padStart(5)}s] ` : '';
    this.o.write(`${t}${text}\n`);
  }

  event(text: string): void {
    for (const l of text.split('\n')) this.line(l);
  }

  update(s: Snapshot): void {
    if (s.monitor) {
      // Batches arrive every few seconds: a line per batch would drown the story, so only model changes print.
      const m = s.monitor;
      const key = `${m.state}|${m.productionVersion}|${m.canary?.version}|${m.canary?.weight}`;
      if (key !== this.monitorKey) {
        this.monitorKey = key;
        this.line(monitorLine(m));
      }
    }
    for (const run of s.runs) {
      // Once decided, the wrap-up stages (report, telling the monitor) are not news: the decision prints once.
      const key = run.decision ?? run.stage;
      if (this.seen.get(run.workflowId) === key) continue;
      this.seen.set(run.workflowId, key);
      // Stages the run passed through since the last update come first (a small model trains between two polls,
      // and a log that jumps from collect to gate reads as if training was skipped); the wrap-up stage is not news.
      const { passed } = stagesPassed(run, this.printedStages.get(run.workflowId) ?? 0);
      for (const stage of passed) if (stage !== Stages.done) this.line(`${run.workflowId} (${run.trigger}): ${stage}`);
      // The current stage is printed below: once it closes, it is not a stage passed unseen.
      this.printedStages.set(run.workflowId, run.timeline.length);
      if (run.decision) this.line(`${run.workflowId}: ${run.decision}${run.decidedBy ? ` (approved by ${run.decidedBy})` : ''}`);
      else this.line(`${run.workflowId} (${run.trigger}): ${run.stage}${run.note ? ` (${run.note})` : ''}`);
    }
  }

  stop(): void {}
}
