// Unit specs sit next to the code (src/**/*.spec.ts); cross-process tests live in test/.
// Five jest projects, so each kind of run can be started alone (`npm run test:unit` etc.);
// plain `jest` (`npm test`, what CI runs) still runs every project in one run.
// The scripts end with `--config jest.config.js` only so that `--selectProjects` (which takes a list)
// does not swallow a file given after it: `npm run test:e2e -- test/ingest.e2e.spec.ts -t HEAD` works.
const project = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest'] },
  // Node 24 loads ES-module-only packages with require(); jest's module loader does not, so SWC
  // turns the few that the dependency tree pulls in (content-disposition, via Bull Board) into CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
};

module.exports = {
  projects: [
    // In-process, no Redis, no network: seconds.
    { ...project, displayName: 'unit', roots: ['<rootDir>/src'], testMatch: ['**/*.spec.ts'] },
    // test/ specs that are neither end-to-end, chaos nor browser (CRM providers against fakes, console rule edit).
    {
      ...project,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.e2e\\.spec\\.ts$', '\\.browser\\.spec\\.ts$', '<rootDir>/test/chaos/'],
    },
    // A started connector against the real Redis.
    {
      ...project,
      displayName: 'e2e',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/chaos/'],
    },
    // Faults: Redis restarts, Sentinel, Cluster, CRM outages, the spool, scale-out.
    { ...project, displayName: 'chaos', roots: ['<rootDir>/test/chaos'], testMatch: ['**/*.spec.ts'] },
    // Chromium (/usr/bin/chromium) driving the agent page, the console and the CRM panels.
    {
      ...project,
      displayName: 'browser',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.browser.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/chaos/'],
    },
  ],
  // Integration tests share one Redis; two workers match the two cores CI has.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 30000,
  // Reads every log line of the run afterwards: no test secret or full phone number may appear.
  globalSetup: '<rootDir>/test/support/log-audit-setup.js',
  globalTeardown: '<rootDir>/test/support/log-audit-teardown.js',
};
