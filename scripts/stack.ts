/**
 * The local stack: `up` makes every server the gateway needs answer (starting Kafka and MailDev itself), then
 * provisions topics, queues and the schema; `down` stops only what `up` started; `status` tells what answers.
 */
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { portOpen, runningPid } from './stack/daemon.js';
import { kafkaAnswers, kafkaDaemon, startKafka, stopKafka } from './stack/kafka.js';
import { maildevDaemon, startMaildev, stopMaildev } from './stack/maildev.js';
import { provision } from './stack/provision.js';
import { ensureService, redact, services } from './stack/services.js';

const log = (line: string) => console.log(`[stack] ${line}`);

async function up(config: Config): Promise<void> {
  const started = Date.now();
  for (const service of services(config)) {
    await ensureService(service, log);
    log(`${service.name}: ok at ${redact(service.url)}`);
  }
  await startKafka(config.KAFKA_BROKERS[0]!, log);
  log(`kafka: ok at ${config.KAFKA_BROKERS.join(',')}`);
  await startMaildev(config.SMTP_URL, config.MAIL_PREVIEW_URL, log);
  await provision(config, createLogger({ level: 'warn', name: 'stack' }), log);
  log(`up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function down(): Promise<void> {
  log(`kafka: ${(await stopKafka()) ? 'stopped' : 'was not started by this stack'}`);
  log(`maildev: ${(await stopMaildev()) ? 'stopped' : 'was not started by this stack'}`);
}

async function status(config: Config): Promise<boolean> {
  let healthy = true;
  const report = (name: string, ok: boolean, detail: string) => {
    healthy &&= ok;
    log(`${name.padEnd(10)} ${ok ? 'up  ' : 'DOWN'} ${detail}`);
  };
  for (const service of services(config)) {
    const ok = await service.probe().then(
      () => true,
      () => false,
    );
    report(service.name, ok, redact(service.url));
  }
  const kafkaPid = runningPid(kafkaDaemon);
  report(
    'Kafka',
    await kafkaAnswers(config.KAFKA_BROKERS[0]!),
    `${config.KAFKA_BROKERS.join(',')}${kafkaPid ? ` (pid ${kafkaPid})` : ''}`,
  );
  const smtp = new URL(config.SMTP_URL);
  const maildevPid = runningPid(maildevDaemon);
  report(
    'MailDev',
    await portOpen(smtp.hostname, Number(smtp.port)),
    `${smtp.host}, UI ${config.MAIL_PREVIEW_URL}${maildevPid ? ` (pid ${maildevPid})` : ''}`,
  );
  return healthy;
}

async function main(command: string | undefined): Promise<number> {
  const config = loadConfig();
  switch (command) {
    case 'up':
      await up(config);
      return 0;
    case 'down':
      await down();
      return 0;
    case 'status':
      return (await status(config)) ? 0 : 1;
    default:
      console.error('usage: tsx scripts/stack.ts up|down|status');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : `[stack] ${(error as Error).message}`);
    process.exit(1);
  },
);
