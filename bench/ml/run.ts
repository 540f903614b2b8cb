/**
 * `npm run bench:ml`: our ml/ code against its Python peers (scikit-learn, SciPy, NumPy from Debian, run with
 * /usr/bin/python3) in the same run, one JSON object per line on stdout: the trainer cases (Elec2 by default, or
 * any CSV given with --data/--label/--positive, plus fitting through the worker thread), the Parquet round trip
 * against pandas with CSV, and then the statistics cases. Peers run single-threaded unless --peer-threads says
 * otherwise; every case reports CPU seconds beside wall seconds.
 *
 *   npm run bench:ml -- [--data PATH --label COLUMN --positive VALUE] [--exclude a,b] [--repeats 3]
 *                       [--early-stopping auto|on|off] [--peer-threads N] [--skip-stats] [--skip-trainers] [--skip-io]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { inferCsvSchema } from '../../ml/data/csv';
import { runIoCases } from './io';
import { ensurePeer } from './python';
import { runStatCases } from './stats';
import { runTrainerCases } from './trainers';

const ELEC2 = resolve(__dirname, '../../../shared/data/elec2.csv');

const OptionsSchema = z
  .object({
    data: z.string().min(1).optional(),
    label: z.string().min(1).optional(),
    positive: z.string().min(1).optional(),
    exclude: z.string().optional(),
    repeats: z.coerce.number().int().min(1).max(50).default(3),
    'early-stopping': z.enum(['auto', 'on', 'off']).default('auto'),
    'peer-threads': z.coerce.number().int().min(1).optional(),
    'skip-stats': z.boolean().default(false),
    'skip-trainers': z.boolean().default(false),
    'skip-io': z.boolean().default(false),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.data !== undefined && (o.label === undefined || o.positive === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['label'], message: '--data needs --label COLUMN and --positive VALUE' });
    }
  });

function parseOptions(argv: string[]): z.output<typeof OptionsSchema> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      label: { type: 'string' },
      positive: { type: 'string' },
      exclude: { type: 'string' },
      repeats: { type: 'string' },
      'early-stopping': { type: 'string' },
      'peer-threads': { type: 'string' },
      'skip-stats': { type: 'boolean' },
      'skip-trainers': { type: 'boolean' },
      'skip-io': { type: 'boolean' },
    },
    strict: true,
  });
  const r = OptionsSchema.safeParse(values);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RangeError(`--${issue.path.join('.') || 'options'}: ${issue.message}`);
  }
  return r.data;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const emit = (obj: object): void => {
    process.stdout.write(`${JSON.stringify(obj)}\n`);
  };
  ensurePeer();
  if (!o['skip-trainers']) {
    const custom = o.data !== undefined;
    await runTrainerCases(emit, {
      data: custom ? resolve(o.data!) : ELEC2,
      label: custom ? o.label! : 'class',
      positive: custom ? o.positive! : 'UP',
      exclude: o.exclude !== undefined ? o.exclude.split(',').map((s) => s.trim()).filter(Boolean) : custom ? [] : ['date'],
      repeats: o.repeats,
      earlyStopping: o['early-stopping'] === 'auto' ? 'auto' : o['early-stopping'] === 'on',
      trainFraction: 0.7,
      peerThreads: o['peer-threads'],
    });
  }
  if (!o['skip-io']) {
    const custom = o.data !== undefined;
    const data = custom ? resolve(o.data!) : ELEC2;
    const label = custom ? o.label! : 'class';
    const schema = await inferCsvSchema(data, { label, positive: custom ? o.positive! : 'UP' });
    await runIoCases(emit, { data, schema, repeats: o.repeats });
  }
  if (o['skip-stats'] || o.data !== undefined) return;
  await runStatCases(emit);
}

main().catch((e: unknown) => {
  // Bad options and bad data are explained by their message; anything else needs the stack.
  const expected = e instanceof RangeError || e instanceof TypeError || (e instanceof Error && e.name === 'CsvError');
  process.stderr.write(`bench: ${e instanceof Error ? (expected ? e.message : e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
