import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { retrain } from './helpers';

/** A loopback port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

test('without a Temporal server, commands exit 5 and say what to check (TEMPORAL_ADDRESS, npm start)', async () => {
  const port = await closedPort();
  const r = await retrain(['monitor', 'status', 'churn', '--json'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  assert.equal(r.code, 5);
  assert.equal(r.json.error.kind, 'unavailable');
  assert.match(r.json.error.message, new RegExp(`^cannot connect to Temporal at 127\\.0\\.0\\.1:${port}`));
  assert.match(r.json.error.message, /npm start/);
  assert.match(r.json.error.message, /TEMPORAL_ADDRESS/);
  assert.match(r.stderr, /cannot connect to Temporal/);
});

test('--address overrides TEMPORAL_ADDRESS', async () => {
  const port = await closedPort();
  const r = await retrain(['status', 'churn/1', '--address', `127.0.0.1:${port}`], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(r.code, 5);
  assert.match(r.stderr, new RegExp(`cannot connect to Temporal at 127\\.0\\.0\\.1:${port}`));
});
