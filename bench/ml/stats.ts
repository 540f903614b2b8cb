/**
 * The statistics cases of `npm run bench:ml`: our paired bootstrap against NumPy doing the same resampling
 * (multinomial counts with `rng.multinomial`, and index resampling with `rng.integers` beside it), and our two-sample KS test against `scipy.stats.ks_2samp`, each on identical data
 * (generated here from a seed and handed to Python as raw float64/uint8 files), timing only the computation
 * on both sides, best of three (wall clock for `ratio`; process CPU time is reported too, since on a shared
 * machine it is the steadier figure). Prints one JSON object per case through `emit`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../ml/random';
import { pairedBootstrap } from '../../ml/stats/bootstrap';
import { ksTwoSample } from '../../ml/stats/ks';
import { ensurePeer, runPython } from './python';

const REPEATS = 3;
const BOOT_N = 1_000_000;
const BOOT_RESAMPLES = 2000;
const BOOT_SEED = 20240601;
const KS_N = 1_000_000;
const KS_SHIFT = 0.003; // small enough that the p-value lands between 1e-3 and 0.5 for this seed

/** Best wall-clock time of `repeats` runs, and the best process CPU time (less sensitive to a busy machine). */
function bestOf<T>(repeats: number, fn: () => T): { seconds: number; cpuSeconds: number; value: T } {
  let best = Infinity;
  let bestCpu = Infinity;
  let value: T | undefined;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    value = fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
  }
  return { seconds: best, cpuSeconds: bestCpu, value: value as T };
}

/** Wall and CPU seconds of ours (best of the repeats) and of the Python peer, and their ratios (ours / peer). */
function timingFields(ours: { seconds: number; cpuSeconds: number }, peer: { seconds: number; cpu_seconds: number }) {
  return {
    ours_s: round(ours.seconds, 4),
    peer_s: round(peer.seconds, 4),
    ratio: round(ours.seconds / peer.seconds, 4),
    ours_cpu_s: round(ours.cpuSeconds, 4),
    peer_cpu_s: round(peer.cpu_seconds, 4),
    cpu_ratio: round(ours.cpuSeconds / peer.cpu_seconds, 4),
  };
}

function writeArray(path: string, a: Float64Array | Uint8Array): void {
  writeFileSync(path, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
}

const round = (x: number, digits = 6): number => Number(x.toPrecision(digits));

// ---------------------------------------------------------------------------------------------------------

const BOOTSTRAP_PEER = `
import json, sys, time
import numpy as np
args = json.loads(sys.stdin.read())
y = np.fromfile(args["y"], dtype=np.uint8)
pA = np.fromfile(args["pA"], dtype=np.float64)
pB = np.fromfile(args["pB"], dtype=np.float64)
n, R = y.size, args["resamples"]
best, best_cpu, out = float("inf"), float("inf"), None
for rep in range(args["repeats"] + args.get("warmup", 0)):
    t0, c0 = time.perf_counter(), time.process_time()
    d = ((pB > 0.5) == (y == 1)).astype(np.int8) - ((pA > 0.5) == (y == 1)).astype(np.int8)
    est = d.mean()
    rng = np.random.default_rng(args["seed"])
    if args["method"] == "multinomial":
        # How many resampled rows fall on each difference value: one multinomial draw per resample.
        counts = np.array([(d == -1).sum(), (d == 0).sum(), (d == 1).sum()])
        draws = rng.multinomial(n, counts / n, size=R)
        diffs = (draws[:, 2] - draws[:, 0]) / n
    else:
        diffs = np.empty(R)
        for r in range(R):
            diffs[r] = d[rng.integers(0, n, n)].mean()
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    se = diffs.std(ddof=1)
    t = time.perf_counter() - t0
    if rep < args.get("warmup", 0):
        continue
    best_cpu = min(best_cpu, time.process_time() - c0)
    if t < best:
        best, out = t, dict(estimate=float(est), lower=float(lo), upper=float(hi), se=float(se))
out["seconds"] = best
out["cpu_seconds"] = best_cpu
out["numpy"] = np.__version__
print(json.dumps(out))
`;

interface BootstrapPeer {
  cpu_seconds: number;
  estimate: number;
  lower: number;
  upper: number;
  se: number;
  seconds: number;
  numpy: string;
}

async function bootstrapCase(dir: string, emit: (o: object) => void): Promise<void> {
  // Paired predictions: two models of similar quality on the same million examples.
  const rng = new Rng(BOOT_SEED);
  const y = new Uint8Array(BOOT_N);
  const pA = new Float64Array(BOOT_N);
  const pB = new Float64Array(BOOT_N);
  for (let i = 0; i < BOOT_N; i++) {
    y[i] = rng.next() < 0.45 ? 1 : 0;
    const signal = y[i] === 1 ? 0.25 : -0.25;
    const shared = 0.3 * rng.normal(); // both models see the same hard examples: correlated errors
    pA[i] = 1 / (1 + Math.exp(-(4 * (signal + shared) + 0.9 * rng.normal())));
    pB[i] = 1 / (1 + Math.exp(-(4.3 * (signal + shared) + 0.9 * rng.normal())));
  }
  writeArray(join(dir, 'y.bin'), y);
  writeArray(join(dir, 'pA.bin'), pA);
  writeArray(join(dir, 'pB.bin'), pB);

  // Both sides get one untimed warm-up run (the peer's is its first repeat, see "warmup" in its script): ours
  // would otherwise time V8 compiling the one-pass count over a million examples, which a service running many
  // bootstraps pays once. The first run is reported as ours_first_s.
  const first = bestOf(1, () => pairedBootstrap({ y, pA, pB, metric: 'accuracy', resamples: BOOT_RESAMPLES, seed: BOOT_SEED }));
  const ours = bestOf(REPEATS, () => pairedBootstrap({ y, pA, pB, metric: 'accuracy', resamples: BOOT_RESAMPLES, seed: BOOT_SEED }));

  // The same algorithm as the peer (n uniform indices per resample, the mean of the resampled differences),
  // once, to show what the multinomial shortcut saves and how plain index resampling compares.
  const indexPath = bestOf(1, () =>
    pairedBootstrap({ y, pA, pB, metric: 'accuracy', resamples: BOOT_RESAMPLES, seed: BOOT_SEED, strategy: 'indices' }),
  );

  const peerArgs = { y: join(dir, 'y.bin'), pA: join(dir, 'pA.bin'), pB: join(dir, 'pB.bin'), resamples: BOOT_RESAMPLES, seed: BOOT_SEED };
  // The ratio compares like with like: ours draws multinomial counts, so the peer does too (rng.multinomial);
  // the index-resampling pair (ours with strategy 'indices', the peer with rng.integers) is reported beside it.
  const peer = await runPython<BootstrapPeer>(BOOTSTRAP_PEER, JSON.stringify({ ...peerArgs, method: 'multinomial', repeats: REPEATS, warmup: 1 }));
  const peerIndex = await runPython<BootstrapPeer>(BOOTSTRAP_PEER, JSON.stringify({ ...peerArgs, method: 'indices', repeats: 1 }));
  emit({
    case: 'bootstrap',
    ...timingFields(ours, peer),
    n: BOOT_N,
    resamples: BOOT_RESAMPLES,
    metric: 'accuracy difference (B − A)',
    ours_estimate: ours.value.estimate,
    peer_estimate: peer.estimate,
    ours_lower: round(ours.value.lower, 8),
    ours_upper: round(ours.value.upper, 8),
    peer_lower: round(peer.lower, 8),
    peer_upper: round(peer.upper, 8),
    ours_se: round(ours.value.standardError, 6),
    peer_se: round(peer.se, 6),
    warmup: 'one untimed run on each side before the timed repeats',
    ours_first_s: round(first.seconds, 4),
    ours_first_cpu_s: round(first.cpuSeconds, 4),
    ours_method: 'multinomial counts over the per-example differences {−1, 0, +1} (counted in one pass, two chained binomials per resample)',
    ours_index_resampling_s: round(indexPath.seconds, 4),
    ours_index_resampling_cpu_s: round(indexPath.cpuSeconds, 4),
    ours_index_resampling_lower: round(indexPath.value.lower, 8),
    ours_index_resampling_upper: round(indexPath.value.upper, 8),
    peer_method: `numpy ${peer.numpy} rng.multinomial(n, shares of {−1, 0, +1}) per resample`,
    peer_index_resampling_s: round(peerIndex.seconds, 4),
    peer_index_resampling_cpu_s: round(peerIndex.cpu_seconds, 4),
    peer_index_resampling_lower: round(peerIndex.lower, 8),
    peer_index_resampling_upper: round(peerIndex.upper, 8),
    index_resampling_ratio: round(indexPath.seconds / peerIndex.seconds, 4),
    peer_index_method: `numpy ${peer.numpy} rng.integers(0, n, n) per resample`,
  });
}

// ---------------------------------------------------------------------------------------------------------

const KS_PEER = `
import json, sys, time
import numpy as np, scipy
from scipy import stats
args = json.loads(sys.stdin.read())
a = np.fromfile(args["a"], dtype=np.float64)
b = np.fromfile(args["b"], dtype=np.float64)
best, best_cpu, res = float("inf"), float("inf"), None
for rep in range(args["repeats"]):
    t0, c0 = time.perf_counter(), time.process_time()
    r = stats.ks_2samp(a, b)
    t = time.perf_counter() - t0
    best_cpu = min(best_cpu, time.process_time() - c0)
    if t < best:
        best, res = t, r
print(json.dumps(dict(seconds=best, cpu_seconds=best_cpu, statistic=float(res.statistic), pvalue=float(res.pvalue), scipy=scipy.__version__)))
`;

interface KsPeer {
  seconds: number;
  cpu_seconds: number;
  statistic: number;
  pvalue: number;
  scipy: string;
}

async function ksCase(dir: string, emit: (o: object) => void): Promise<void> {
  const rng = new Rng(7);
  const a = new Float64Array(KS_N);
  const b = new Float64Array(KS_N);
  for (let i = 0; i < KS_N; i++) a[i] = rng.normal();
  for (let i = 0; i < KS_N; i++) b[i] = rng.normal() + KS_SHIFT;
  writeArray(join(dir, 'a.bin'), a);
  writeArray(join(dir, 'b.bin'), b);
  const ours = bestOf(REPEATS, () => ksTwoSample(a, b));
  const peer = await runPython<KsPeer>(KS_PEER, JSON.stringify({ a: join(dir, 'a.bin'), b: join(dir, 'b.bin'), repeats: REPEATS }));
  emit({
    case: 'ks',
    ...timingFields(ours, peer),
    n: KS_N,
    ours_statistic: ours.value.statistic,
    peer_statistic: peer.statistic,
    ours_p: ours.value.pValue,
    peer_p: peer.pvalue,
    statistic_abs_diff: Math.abs(ours.value.statistic - peer.statistic),
    p_rel_diff: Math.abs(ours.value.pValue - peer.pvalue) / peer.pvalue,
    ours_method: ours.value.method,
    peer_method: `scipy ${peer.scipy} stats.ks_2samp`,
  });
}

/** Runs the bootstrap and KS comparisons, emitting one JSON object each. */
export async function runStatCases(emit: (o: object) => void): Promise<void> {
  ensurePeer();
  const dir = mkdtempSync(join(tmpdir(), 'retrain-bench-stats-'));
  try {
    await ksCase(dir, emit);
    await bootstrapCase(dir, emit);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
