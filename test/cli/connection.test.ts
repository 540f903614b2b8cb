import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitAddress } from '../../workers/temporal-address';
import { freePort } from '../devserver/helpers';
import { retrain } from './helpers';


test('without a Temporal server, commands exit 5 and say what to check (TEMPORAL_ADDRESS, npm start)', async () => {
  const port = await freePort(); // bound, then released: nothing listens on it
  const r = await retrain(['monitor', 'status', 'churn', '--json'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  assert.equal(r.code, 5);
  assert.equal(r.json.error.kind, 'unavailable');
  assert.match(r.json.error.message, new RegExp(`^cannot connect to Temporal at 127\\.0\\.0\\.1:${port}`));
  // Found by a plain TCP connection at once, not after grpc-js's connect timeout ("Failed to connect before the deadline").
  assert.match(r.json.error.message, /connection refused: nothing listens on that port/);
  assert.match(r.json.error.message, /npm start/);
  assert.match(r.json.error.message, /TEMPORAL_ADDRESS/);
  assert.match(r.stderr, /cannot connect to Temporal/);
});

test('--address overrides TEMPORAL_ADDRESS', async () => {
  const port = await freePort(); // bound, then released: nothing listens on it
  const r = await retrain(['status', 'churn/1', '--address', `127.0.0.1:${port}`], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(r.code, 5);
  assert.match(r.stderr, new RegExp(`cannot connect to Temporal at 127\\.0\\.0\\.1:${port}`));
});

test('addresses the refusal check understands: host:port and [IPv6]:port; anything else is left to grpc-js', () => {
  assert.deepEqual(splitAddress('127.0.0.1:7233'), { host: '127.0.0.1', port: 7233 });
  assert.deepEqual(splitAddress('temporal.example.com:443'), { host: 'temporal.example.com', port: 443 });
  assert.deepEqual(splitAddress('[::1]:7233'), { host: '::1', port: 7233 });
  assert.equal(splitAddress('localhost'), undefined);
  assert.equal(splitAddress('dns:///temporal:7233'), undefined);
  assert.equal(splitAddress('host:0'), undefined);
  assert.equal(splitAddress('host:70000'), undefined);
});
