/**
 * The embedded Temporal-compatible server's public entry: start it, get an address. The rest of the project uses
 * devserver/ only through this module.
 */
export { startDevServer, type DevServer, type DevServerOptions } from './server';
export { parseLaunchArgs } from './cli-args';
import { resolve } from 'node:path';

/** Path of the executable stand-in, for `TestWorkflowEnvironment` `{ executable: { type: 'existing-path', path } }`. */
export const DEVSERVER_EXECUTABLE = resolve(__dirname, '..', 'bin', 'temporal-devserver');
