/**
 * The stages a run passed through since the last look, from its status's timeline. A stage can start and end
 * between two polls (training a small model takes less than one), so a follower that printed only the current stage
 * would skip it; `retrain run --wait` and `npm start`'s progress log both print these first, then the open stage.
 */
import type { Stage, StageRecord } from '../../workflows/definitions';

/**
 * The timeline records from index `printed` up to (not including) the open record of the current stage, and the
 * index to pass next time. The current stage itself is left to the caller, which prints it with its own details.
 */
export function stagesPassed(run: { readonly stage: Stage; readonly timeline: readonly StageRecord[] }, printed: number): { passed: Stage[]; next: number } {
  const t = run.timeline;
  const open = t.length > 0 && t[t.length - 1].stage === run.stage ? t.length - 1 : t.length;
  const passed: Stage[] = [];
  for (let i = printed; i < open; i++) passed.push(t[i].stage);
  return { passed, next: Math.max(printed, open) };
}
