import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests that spawn the CLI need the build; `npm test` builds first.
    pool: 'forks',
    // Installs, fetches or builds the real peers the tests run (prometheus,
    // logrotate, h2load, kubectls, Node.js, realmixer), one line each.
    globalSetup: ['test/setup/peers.ts'],
    // A focused test (it.only) must never hide the rest of the suite.
    allowOnly: false,
    // .ci/run derives its closing count line from this report.
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
  },
});
