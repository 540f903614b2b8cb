/**
 * The benchmarks' peer: Debian's python3 with scikit-learn, SciPy, NumPy and pandas, run as /usr/bin/python3 (the python3
 * on PATH is another interpreter without them). Installs the Debian packages when they are missing, so a fresh
 * machine can run the benchmarks.
 */
import { spawnSync, spawn } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export function ensurePeer(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import sklearn, scipy, numpy, pandas'], { encoding: 'utf8' });
  if (probe.status === 0) return;
  process.stderr.write('bench: installing python3-sklearn and python3-scipy from Debian...\n');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const run = (args: string[]) => {
    const r = spawnSync(sudo.length ? 'sudo' : args[0], sudo.length ? args : args.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed with exit code ${r.status}`);
  };
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', 'python3-sklearn', 'python3-scipy', 'python3-numpy', 'python3-pandas']);
}

/** The variables that size the native thread pools NumPy, SciPy and scikit-learn may use. */
const THREAD_VARIABLES = ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS', 'NUMEXPR_NUM_THREADS'];

/**
 * Runs a Python script with the peer interpreter, feeding `stdin`, and parses the last stdout line as JSON. The
 * peer runs single-threaded unless `threads` says otherwise, as ours does, so a ratio compares algorithms and
 * not core counts.
 */
export function runPython<T = unknown>(script: string, stdin = '', threads = 1): Promise<T> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const v of THREAD_VARIABLES) env[v] = String(threads);
    const child = spawn(PYTHON, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`python peer exited with code ${code}`));
      const lines = out.trim().split('\n');
      try {
        resolve(JSON.parse(lines[lines.length - 1]) as T);
      } catch (e) {
        reject(new Error(`python peer printed no JSON: ${out.slice(-500)}`));
      }
    });
    child.stdin.end(stdin);
  });
}
