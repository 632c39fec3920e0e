import type { Config } from '../config.js';
import { GatewayError } from '../errors/gateway-error.js';

/** Every role, in start order: the sandbox answers before workers send to it, workers are up before the api takes events. */
export const ROLE_NAMES = ['sandbox', 'worker', 'bridge', 'api'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/**
 * What a process runs without `--role`: the gateway itself. The sandbox is never among them: it holds the Twilio auth
 * token and answers anyone on its port (a forged, signed STOP), so it runs only when named, and never in production.
 */
export const DEFAULT_ROLES: readonly RoleName[] = ['worker', 'bridge', 'api'];

/** Raised for a `--role` list this process must not run; main.ts prints the message and exits. */
export class RoleSelectionError extends GatewayError<'ROLE_INVALID'> {
  constructor(message: string) {
    super(message, { code: 'ROLE_INVALID', retriable: false });
    this.name = 'RoleSelectionError';
  }
}

/** The roles to start, in start order, from the `--role a,b` value (or its absence). */
export function selectRoles(roleArgument: string | undefined, nodeEnv: Config['NODE_ENV']): RoleName[] {
  const names =
    roleArgument === undefined
      ? [...DEFAULT_ROLES]
      : roleArgument
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean);
  const unknown = names.filter((name) => !(ROLE_NAMES as readonly string[]).includes(name));
  if (unknown.length)
    throw new RoleSelectionError(`unknown role ${unknown.join(', ')}; roles: ${ROLE_NAMES.join(', ')}`);
  if (names.length === 0) throw new RoleSelectionError(`--role names no role; roles: ${ROLE_NAMES.join(', ')}`);
  if (names.includes('sandbox') && nodeEnv === 'production') {
    throw new RoleSelectionError(
      'the sandbox role is for development only (NODE_ENV=development); production talks to Twilio itself',
    );
  }
  return ROLE_NAMES.filter((name) => names.includes(name));
}
