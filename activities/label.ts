/**
 * The label stage's side effect: a labeling request under RETRAIN_HOME (`labeling/<model>/<n>/`): the new data's
 * rows as a CSV whose label column the person fills in or corrects (prefilled with the source's labels where it
 * has them), and a JSON note of who may approve and by when. The person saves the CSV (or a copy, whose URI they
 * pass as `labelsUri` in `labelsApproved`), and training reads the labels from it. Writing the same request
 * twice (a retry) writes the same files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ActivityDeps } from './deps';
import { readSnapshot } from './common';
import { tableToCsv } from './table';
import type { RequestLabelsInput, RequestLabelsResult } from './types';

export async function requestLabels(deps: ActivityDeps, input: RequestLabelsInput): Promise<RequestLabelsResult> {
  const dir = join(deps.home, 'labeling', input.model, String(input.n));
  await mkdir(dir, { recursive: true });
  const rows = await readSnapshot(deps.store, input.collect.fresh.uri);
  const csvPath = join(dir, 'request.csv');
  await writeFile(csvPath, tableToCsv(rows));
  await writeFile(
    join(dir, 'request.json'),
    JSON.stringify(
      {
        runWorkflowId: input.runWorkflowId,
        model: input.model,
        labelColumn: input.config.data.label,
        positive: input.config.data.positive,
        negative: input.config.data.negative ?? null,
        rows: rows.rows.length,
        approvers: input.approvers,
        deadline: input.deadline,
        instructions: `Fill in or correct the ${JSON.stringify(input.config.data.label)} column of request.csv (rows in order; do not add or remove rows), then signal labelsApproved on ${input.runWorkflowId}.`,
      },
      null,
      2,
    ),
  );
  deps.log.info('labeling request written', { runWorkflowId: input.runWorkflowId, path: csvPath, rows: rows.rows.length });
  return { requestUri: pathToFileURL(csvPath).href };
}
