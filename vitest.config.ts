import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests share one Kafka, RabbitMQ and MailDev, and some stop and restart them on purpose:
    // files run one at a time so a restart never lands in another file's middle.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Tests provoke failures on purpose; set LOG_LEVEL=debug to see what the code logs about them.
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
  },
});
