/** Jest: @swc/jest compiles TS (independent of the TypeScript version); tsc --noEmit is the type gate.
 * p-limit and yocto-queue are ESM-only, so they are transformed too, as are string-width (the CLI tables' column
 * widths) and its ESM-only dependencies (strip-ansi 7, ansi-regex 6, get-east-asian-width). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.[tj]sx?$': ['@swc/jest', { module: { type: 'commonjs' }, jsc: { target: 'es2022' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(p-limit|yocto-queue|content-disposition|string-width|strip-ansi|ansi-regex|get-east-asian-width)/)'],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
