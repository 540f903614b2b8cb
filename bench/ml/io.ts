/**
 * The `parquet` case of `npm run bench:ml`: writing a frame as Parquet and reading it back (ml/data/parquet.ts,
 * on hyparquet) against pandas writing and reading the same frame as CSV. Debian ships no Parquet library for
 * Python, so the peer does the nearest thing a Python pipeline without pyarrow would do with a snapshot. Both
 * sides time the round trip in memory (no disk), best of the repeats, wall and CPU seconds.
 */
import { loadCsv } from '../../ml/data/csv';
import { readParquet, writeParquet } from '../../ml/data/parquet';
import type { DataSchema } from '../../ml/data/schema';
import { runPython } from './python';

const PANDAS_PEER = String.raw`
import io, json, sys, time
import pandas as pd
cfg = json.loads(sys.stdin.read())
df = pd.read_csv(cfg["path"])
best, best_cpu, size, rows = float("inf"), float("inf"), 0, 0
for _ in range(cfg["repeats"]):
    t0, c0 = time.perf_counter(), time.process_time()
    text = df.to_csv(index=False)
    back = pd.read_csv(io.StringIO(text))
    best = min(best, time.perf_counter() - t0)
    best_cpu = min(best_cpu, time.process_time() - c0)
    size, rows = len(text.encode()), len(back)
print(json.dumps(dict(seconds=best, cpu_seconds=best_cpu, bytes=size, rows=rows, pandas=pd.__version__)))
`;

interface PandasPeer {
  seconds: number;
  cpu_seconds: number;
  bytes: number;
  rows: number;
  pandas: string;
}

export interface IoBenchOptions {
  readonly data: string;
  readonly schema: DataSchema;
  readonly repeats: number;
}

export async function runIoCases(emit: (o: object) => void, opts: IoBenchOptions): Promise<void> {
  const frame = await loadCsv(opts.data, opts.schema);
  let best = Infinity;
  let bestCpu = Infinity;
  let bytes = 0;
  let same = true;
  for (let r = 0; r < opts.repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const file = writeParquet(frame);
    const back = await readParquet(file);
    best = Math.min(best, (performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
    bytes = file.length;
    same = same && back.nRows === frame.nRows && back.labels.every((v, i) => v === frame.labels[i]);
  }
  const peer = await runPython<PandasPeer>(PANDAS_PEER, JSON.stringify({ path: opts.data, repeats: opts.repeats }));
  emit({
    case: 'parquet',
    ours_s: round(best),
    peer_s: round(peer.seconds),
    ratio: round(best / peer.seconds, 3),
    ours_cpu_s: round(bestCpu),
    peer_cpu_s: round(peer.cpu_seconds),
    cpu_ratio: round(bestCpu / peer.cpu_seconds, 3),
    ours_bytes: bytes,
    peer_bytes: peer.bytes,
    rows: frame.nRows,
    round_trip_same: same && peer.rows === frame.nRows,
    ours_method: 'writeParquet + readParquet (hyparquet-writer, snappy, statistics; hyparquet)',
    peer_method: `pandas ${peer.pandas} DataFrame.to_csv + read_csv, in memory`,
    repeats: opts.repeats,
  });
}

function round(v: number, digits = 6): number {
  return Number(v.toFixed(digits));
}
