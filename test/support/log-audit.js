// Whole-run log audit: every log line a connector started by the tests writes (startTestApp) is
// also appended to one file per jest worker; after the run, no line may hold a test secret or a
// full test phone number. globalSetup clears the folder, globalTeardown reads it and fails the run.
const { mkdirSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const DIR = join(tmpdir(), `vncc-test-logs-${process.pid}`);
// Secrets the tests hand the connector, and the digits of the numbers they send most.
const SECRETS = ['test-ingest-token-0123456789', 'test-admin-token-0123456789', 'pat-test-token'];
const NUMBERS = ['5551234567', '3258422544', '3222222222'];

module.exports.setup = () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  process.env.VNCC_TEST_LOG_DIR = DIR;
};

module.exports.teardown = () => {
  const offenders = [];
  let lines = 0;
  for (const file of readdirSync(DIR)) {
    for (const line of readFileSync(join(DIR, file), 'utf8').split('\n')) {
      if (!line) continue;
      lines += 1;
      const found = [...SECRETS, ...NUMBERS].find((s) => line.includes(s));
      if (found) offenders.push(`${found.slice(0, 6)}… in ${line.slice(0, 400)}`);
    }
  }
  rmSync(DIR, { recursive: true, force: true });
  if (offenders.length > 0) {
    throw new Error(`Log audit: ${offenders.length} of ${lines} log lines hold a secret or a full phone number:\n${offenders.slice(0, 10).join('\n')}`);
  }
  console.log(`log audit: ${lines} log lines from the whole run, none holds a test secret or a full phone number`);
};
