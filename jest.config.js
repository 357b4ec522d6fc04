/** Jest: @swc/jest compiles TS (independent of the TypeScript version); tsc --noEmit is the type gate.
 * p-limit and yocto-queue are ESM-only, so they are transformed too. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.[tj]sx?$': ['@swc/jest', { module: { type: 'commonjs' }, jsc: { target: 'es2022' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(p-limit|yocto-queue|content-disposition)/)'],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
