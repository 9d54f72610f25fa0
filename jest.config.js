// Unit specs sit next to the code (src/**/*.spec.ts); cross-process tests live in test/.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest'] },
  // Node 24 loads ES-module-only packages with require(); jest's module loader does not, so SWC
  // turns the few that the dependency tree pulls in (content-disposition, via Bull Board) into CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  // Integration tests share one Redis; two workers match the two cores CI has.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 30000,
  // Reads every log line of the run afterwards: no test secret or full phone number may appear.
  globalSetup: '<rootDir>/test/support/log-audit-setup.js',
  globalTeardown: '<rootDir>/test/support/log-audit-teardown.js',
};
