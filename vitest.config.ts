import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/stress/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One test file per core. Vitest's default leaves a core free (one file at a time on two
    // cores), but nearly every test waits on the rvc and git processes it spawns, which a second
    // file's work fills: 395 s instead of 512-711 s for the suite on two cores.
    maxWorkers: '100%',
  },
});
