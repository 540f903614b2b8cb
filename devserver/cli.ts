/** Runs the embedded server from the command line (see cli-args.ts for the accepted forms). */
import { parseLaunchArgs } from './cli-args';
import { startDevServer } from './server';

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseLaunchArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`temporal-devserver: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const server = await startDevServer(opts);
  process.stderr.write(
    `temporal-devserver listening on ${server.address} (namespace ${opts.namespace ?? 'default'}${opts.timeSkipping ? ', time skipping' : ''})\n`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`temporal-devserver: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
