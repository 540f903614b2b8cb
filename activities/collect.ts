/**
 * The collect stage: cuts the labelled batches into new data (the batches since the last run, at least one),
 * history (the batches before, bounded by trainingSet.historyBatches) and the holdout (the most recent
 * holdoutShare of the new data: a temporal split, so evaluation happens on data later than anything trained on),
 * and writes each as an immutable, content-addressed snapshot. Only URIs and small summaries are returned, with the
 * registry's production version: the incumbent the run is judged against.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ModelAlias } from '../storage/registry';
import type { ActivityDeps } from './deps';
import { writeSnapshot } from './common';
import { failure, badInput } from './failures';
import { snapshotLabel } from './schema';
import { openSource } from './sources';
import { concatTables, isMissing, parseTable, sliceTable, type Table } from './table';
import { ErrorTypes, type CollectInput, type CollectResult } from './types';

export async function collect(deps: ActivityDeps, input: CollectInput): Promise<CollectResult> {
  const { config } = input;
  const source = openSource(config.data.source);
  const available = await source.count();
  const labelled = Math.min(input.labelledBatches, available);
  if (!(labelled >= 1)) {
    throw failure(ErrorTypes.notEnoughData, `collect: no labelled batch to train on (labelledBatches ${input.labelledBatches}, the source has ${available})`, { nonRetryable: true });
  }
  const newBatches = config.trainingSet.newBatches;
  const from = newBatches !== undefined ? Math.max(0, labelled - newBatches) : Math.max(0, Math.min(input.sinceBatch, labelled - 1));
  const historyBatches = config.trainingSet.historyBatches;
  const historyFrom = historyBatches !== undefined ? Math.max(0, from - historyBatches) : 0;

  const read = async (a: number, b: number): Promise<Table[]> => {
    const out: Table[] = [];
    for (let k = a; k < b; k++) out.push(await source.batch(k));
    return out;
  };
  const fresh = concatTables(await read(from, labelled), 'new data');
  const historyTables = await read(historyFrom, from);
  const history = historyTables.length ? concatTables(historyTables, 'history') : null;

  const n = fresh.rows.length;
  const holdoutRows = Math.ceil(n * config.evaluation.holdoutShare);
  if (n - holdoutRows < 2 || holdoutRows < 1) {
    throw failure(ErrorTypes.notEnoughData, `collect: the new data (batches ${from}..${labelled - 1}) has ${n} rows, too few to hold out ${config.evaluation.holdoutShare} of them and train on the rest`, { nonRetryable: true });
  }
  const train = sliceTable(fresh, 0, n - holdoutRows);
  const holdout = sliceTable(fresh, n - holdoutRows);
  const meta = { model: input.model, runWorkflowId: input.runWorkflowId };
  const label = snapshotLabel(config);
  const freshSnap = await writeSnapshot(deps.store, train, { ...meta, role: 'new', batches: [from, labelled] }, label);
  const holdoutSnap = await writeSnapshot(deps.store, holdout, { ...meta, role: 'holdout', batches: [from, labelled] }, label);
  const historySnap = history ? await writeSnapshot(deps.store, history, { ...meta, role: 'history', batches: [historyFrom, from] }, label) : null;
  let hardSnap = null;
  if (config.data.hardExamples) {
    const path = resolve(config.data.hardExamples);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw badInput(`config.data.hardExamples: no file at ${path}`);
    }
    hardSnap = await writeSnapshot(deps.store, parseTable(text, path), { ...meta, role: 'hard_examples' }, label);
  }
  // Read last, so a rollback made while the data was read is seen; a retried collect reads it again.
  const production = await deps.registry.getAlias(input.model, ModelAlias.production);
  return {
    fresh: freshSnap,
    historical: historySnap,
    holdout: holdoutSnap,
    hardExamples: hardSnap,
    fromBatch: from,
    toBatch: labelled,
    summary: summarize(fresh, config.data.label),
    productionVersion: production?.version ?? null,
  };
}

/** Per column: missing rate, and the mean (numeric) or the top categories; the label's positive rate. */
export function summarize(t: Table, label: string): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  t.header.forEach((name, j) => {
    let missing = 0;
    let numeric = 0;
    let sum = 0;
    const counts = new Map<string, number>();
    for (const r of t.rows) {
      const v = r[j];
      if (isMissing(v)) {
        missing++;
        continue;
      }
      const x = Number(v);
      if (v.trim() !== '' && Number.isFinite(x)) {
        numeric++;
        sum += x;
      }
      if (counts.size < 1000) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const present = t.rows.length - missing;
    const missingRate = t.rows.length ? round(missing / t.rows.length) : 0;
    if (name !== label && present > 0 && numeric === present) columns[name] = { missingRate, mean: round(sum / present) };
    else {
      const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([value, count]) => ({ value, count }));
      columns[name] = { missingRate, top };
    }
  });
  return { rows: t.rows.length, columns };
}

function round(x: number): number {
  return Number(x.toPrecision(6));
}
