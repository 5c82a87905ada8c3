// One jest run covers every project (libs, services, e2e); `--selectProjects <name>` runs one.
// Type checking is done once by `npm run typecheck`, so ts-jest only transpiles here.
const { readdirSync, existsSync } = require('node:fs');
const { join } = require('node:path');

const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', transpilation: true }],
};

function project(name, dir) {
  return {
    displayName: name,
    rootDir: __dirname,
    roots: [`<rootDir>/${dir}`],
    testEnvironment: 'node',
    transform,
    moduleNameMapper: { '^@opsdesk/observability/tracing$': '<rootDir>/libs/observability/src/tracing', '^@opsdesk/(.*)$': '<rootDir>/libs/$1/src' },
    testMatch: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
  };
}

const projects = [];
for (const group of ['libs', 'services']) {
  for (const d of readdirSync(join(__dirname, group))) {
    if (existsSync(join(__dirname, group, d, 'project.json'))) {
      const name = require(join(__dirname, group, d, 'project.json')).name;
      projects.push(project(name, `${group}/${d}`));
    }
  }
}
if (existsSync(join(__dirname, 'e2e'))) projects.push(project('e2e', 'e2e'));
// the benchmark suite's pure helpers (argument parsing, statistics); the benchmarks themselves never run in jest
if (existsSync(join(__dirname, 'bench'))) projects.push({ ...project('bench', 'bench'), testMatch: ['**/*.spec.ts'] });
// The fault suite (reliability/, docs/RELIABILITY.md) starts whole systems and breaks them for minutes: it is a
// project only when RELIABILITY is set (`ci`: the bounded run, `full`: every fault; `npm run test:reliability`).
// The security suite (e2e/security, docs/SECURITY.md "Security suite"): the whole system per file, generated RBAC
// matrix, token attacks, abuse, property fuzzing (>= 10,000 cases). A project only when SECURITY is set
// (`npm run test:security`; `ci` is the bounded CI run, `full` fuzzes longer).
if (process.env.SECURITY) projects.push({ ...project('security', 'e2e/security'), testMatch: ['**/*.security-spec.ts'], testTimeout: 600_000 });
if (process.env.RELIABILITY) projects.push({ ...project('reliability', 'reliability'), testMatch: ['**/*.reliability-spec.ts'] });

// One private nats-server with authorisation for the whole run (libs/testing/src/nats-global-setup.ts):
// the suites never use an open broker. The root transform lets jest load those TypeScript files.
module.exports = {
  projects,
  // A worker's heap grows with every suite it runs (ts-jest and the services' module graphs are not freed); with
  // ~100 suites on 2 workers one ran out of memory in CI. Workers above this after a suite are replaced.
  workerIdleMemoryLimit: '1536MB',
  testTimeout: 60_000,
  transform,
  globalSetup: '<rootDir>/libs/testing/src/nats-global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/nats-global-teardown.ts',
};
