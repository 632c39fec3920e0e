import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Everything the stack downloads or writes lives here, ignored by git, so a second `up` needs no network. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const STACK_DIR = path.join(ROOT, '.stack');
export const KAFKA_DIR = path.join(STACK_DIR, 'kafka');
export const MAILDEV_DIR = path.join(STACK_DIR, 'maildev');
