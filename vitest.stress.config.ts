import { defineConfig } from 'vitest/config';

/**
 * The slow suites (kill loops): `npm run test:stress`. Commands run one after another in a
 * single worker so that kill points, which are spread over a calibrated run time, stay
 * meaningful on a busy machine.
 */
export default defineConfig({
  test: {
    include: ['test/stress/**/*.test.ts'],
    testTimeout: 1_200_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
