/**
 * `retrain report RUN [--open]`: prints the paths of the run's report (report.html and report.json under
 * RETRAIN_HOME/reports/<model>/<n>/); `--open` opens the HTML file with the desktop's opener (xdg-open, open).
 * When RETRAIN_HOME has no report (the workers write to another home, as `npm start --home DIR` does), the run
 * itself is asked where its report is: its status carries the report's URI.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { retrainHome } from '../../../storage/open';
import { runStatusQuery } from '../../../workflows/definitions';
import { CliError, ConnectionOptions, ExitCodes, action, runIdOf, type ConnectionOpts } from '../common';
import { withTemporal } from '../temporal';

export const OpenReportOptions = z.object({ ...ConnectionOptions, open: z.boolean().default(false) }).strict();

/** Where the report files of run `n` of `model` are. */
export function reportPaths(model: string, n: number, env: NodeJS.ProcessEnv = process.env): { dir: string; html: string; json: string } {
  const dir = join(retrainHome(env), 'reports', model, String(n));
  return { dir, html: join(dir, 'report.html'), json: join(dir, 'report.json') };
}

export const run = action(OpenReportOptions, async ([ref], opts, out) => {
  const { workflowId, model, n } = runIdOf(ref);
  let paths = reportPaths(model, n);
  if (!existsSync(paths.html) && !existsSync(paths.json)) paths = (await reportPathsFromRun(workflowId, opts)) ?? paths;
  const html = existsSync(paths.html) ? paths.html : undefined;
  const json = existsSync(paths.json) ? paths.json : undefined;
  if (!html && !json) {
    throw new CliError(`no report for ${workflowId} in ${paths.dir}: a run writes it when it ends (check \`retrain status ${workflowId}\`, and RETRAIN_HOME)`, ExitCodes.notFound);
  }
  let notOpened: string | undefined;
  if (opts.open) {
    if (!html) throw new CliError(`${workflowId} has a JSON report but no HTML one (${paths.json})`, ExitCodes.notFound);
    notOpened = await openFile(html);
    // The paths are still the answer, so this is a notice, not a failure.
    if (notOpened) process.stderr.write(`retrain report: could not open the report (${notOpened}): open ${html} in a browser\n`);
  }
  out.result({ workflowId, html: html ?? null, json: json ?? null, opened: opts.open && !notOpened }, () => [html, json].filter(Boolean).join('\n'));
});

/** Where the run says its report is (a local file: URI), or undefined when it cannot say (no server, no run, S3). */
async function reportPathsFromRun(workflowId: string, opts: ConnectionOpts): Promise<{ dir: string; html: string; json: string } | undefined> {
  try {
    const uri = await withTemporal(opts, async ({ client }) => (await client.workflow.getHandle(workflowId).query(runStatusQuery)).reportUri);
    if (!uri?.startsWith('file:')) return undefined;
    const json = fileURLToPath(uri);
    const dir = dirname(json);
    return { dir, html: join(dir, 'report.html'), json };
  } catch {
    return undefined;
  }
}

/**
 * Opens `path` with the desktop's opener; resolves to why it could not (no desktop session, the opener failed), or
 * undefined. An opener that fails says so within a moment (xdg-open without a browser exits 3); one still running
 * after that has handed the file to something.
 */
function openFile(path: string): Promise<string | undefined> {
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return Promise.resolve('no desktop session: DISPLAY and WAYLAND_DISPLAY are unset');
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  return new Promise((resolve, reject) => {
    const child = spawn(opener, [path], { detached: true, stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.unref();
      resolve(undefined);
    }, 2000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new CliError(`cannot run ${opener} (${err.message}): open ${path} yourself`, ExitCodes.failure));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `${opener} exited with code ${code}`);
    });
  });
}
