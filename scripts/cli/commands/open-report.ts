/**
 * `retrain report RUN [--open]`: prints the paths of the run's report (report.html and report.json under
 * RETRAIN_HOME/reports/<model>/<n>/); `--open` opens the HTML file with the desktop's opener (xdg-open, open).
 */
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { retrainHome } from '../../../storage';
import { CliError, ExitCodes, JsonOption, action, addJsonOption, runIdOf } from '../common';

export const OpenReportOptions = z.object({ ...JsonOption, open: z.boolean().default(false) }).strict();

/** Where the report files of run `n` of `model` are. */
export function reportPaths(model: string, n: number, env: NodeJS.ProcessEnv = process.env): { dir: string; html: string; json: string } {
  const dir = join(retrainHome(env), 'reports', model, String(n));
  return { dir, html: join(dir, 'report.html'), json: join(dir, 'report.json') };
}

export function register(program: Command): void {
  addJsonOption(program.command('report').description("print the path of a run's report (HTML and JSON)").argument('<run>', 'retrain/MODEL/N or MODEL/N').option('--open', 'open the HTML report with xdg-open (Linux) or open (macOS)')).action(
    action(OpenReportOptions, async ([ref], opts, out) => {
      const { workflowId, model, n } = runIdOf(ref);
      const paths = reportPaths(model, n);
      const html = existsSync(paths.html) ? paths.html : undefined;
      const json = existsSync(paths.json) ? paths.json : undefined;
      if (!html && !json) {
        throw new CliError(`no report for ${workflowId} in ${paths.dir}: a run writes it when it ends (check \`retrain status ${workflowId}\`, and RETRAIN_HOME)`, ExitCodes.notFound);
      }
      if (opts.open) {
        if (!html) throw new CliError(`${workflowId} has a JSON report but no HTML one (${paths.json})`, ExitCodes.notFound);
        await openFile(html);
      }
      out.result({ workflowId, html: html ?? null, json: json ?? null, opened: opts.open }, () => [html, json].filter(Boolean).join('\n'));
    }),
  );
}

function openFile(path: string): Promise<void> {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  return new Promise((resolve, reject) => {
    const child = spawn(opener, [path], { detached: true, stdio: 'ignore' });
    child.once('error', (err) => reject(new CliError(`cannot run ${opener} (${err.message}): open ${path} yourself`, ExitCodes.failure)));
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
