import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CHANNELS, EVENT_TYPES, type Channel, type EventType } from '../events/index.js';
import { ErasedUserError, type PreferencesRepository } from '../store/preferences.repository.js';
import { channelEnabled, type QuietHours, type UserProfile } from '../preferences/profile.js';
import { gone } from './errors.js';
import type { UserGuard } from './guards.js';
import { preferencesBody } from './preferences.body.js';
import { userParams } from './route-schemas.js';

/** What `GET /users/:userId/preferences` answers: the choices as stored, and what they mean for each event and channel. */
export interface PreferencesView {
  userId: string;
  channels: Partial<Record<Channel, boolean>>;
  events: Partial<Record<EventType, Partial<Record<Channel, boolean>>>>;
  quietHours: QuietHours | null;
  /** Delay notices under this many minutes are not sent (null: every delay is). */
  minDelayMinutes: number | null;
  locale: string;
  contact: { email: string | null; phone: string | null; whatsappOptIn: boolean };
  effective: Record<EventType, Record<Channel, boolean>>;
}

/** Someone the gateway does not know yet, or no longer knows (erased), has the defaults. */
export function preferencesView(userId: string, profile: UserProfile | undefined): PreferencesView {
  const known = profile && !profile.erased ? profile : undefined;
  const row = (eventType: EventType) =>
    Object.fromEntries(CHANNELS.map((c) => [c, channelEnabled(known, eventType, c)])) as Record<Channel, boolean>;
  return {
    userId,
    channels: known?.channels ?? {},
    events: known?.eventChannels ?? {},
    quietHours: known?.quietHours ?? null,
    minDelayMinutes: known?.minDelayMinutes ?? null,
    locale: known?.locale ?? 'en',
    contact: { email: known?.email ?? null, phone: known?.phone ?? null, whatsappOptIn: known?.whatsappOptIn ?? true },
    effective: Object.fromEntries(EVENT_TYPES.map((e) => [e, row(e)])) as PreferencesView['effective'],
  };
}

/**
 * `GET`, `PUT` and `PATCH /users/:userId/preferences`, for the user themself or an admin. PUT replaces the stored
 * choices (contact details are kept unless given), PATCH merges into them; both answer what GET would, and the
 * next event for the user already follows the change.
 */
export async function preferencesRoutes(
  app: FastifyInstance,
  { preferences, authorize }: { preferences: PreferencesRepository; authorize: UserGuard },
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get('/users/:userId/preferences', {
    schema: { params: userParams },
    onRequest: authorize,
    handler: async (request, reply) => {
      const profile = await preferences.get(request.params.userId);
      return reply.header('cache-control', 'no-store').send(preferencesView(request.params.userId, profile));
    },
  });

  for (const [method, mode] of [
    ['PUT', 'replace'],
    ['PATCH', 'update'],
  ] as const) {
    routes.route({
      method,
      url: '/users/:userId/preferences',
      schema: { params: userParams, body: preferencesBody },
      onRequest: authorize,
      handler: async (request, reply) => {
        const { userId } = request.params;
        try {
          const profile = await preferences[mode](userId, request.body);
          return reply.header('cache-control', 'no-store').send(preferencesView(userId, profile));
        } catch (error) {
          if (error instanceof ErasedUserError) throw gone('this user was erased; nothing about them is stored again');
          throw error;
        }
      },
    });
  }
}
