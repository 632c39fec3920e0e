import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CHANNELS, EVENT_TYPES, type Channel, type EventType } from '../events/index.js';
import { ErasedUserError, type PreferencesPatch, type PreferencesRepository } from '../store/preferences.repository.js';
import { channelEnabled, type QuietHours, type UserProfile } from '../preferences/profile.js';
import { gone } from './errors.js';
import { parsePreferencesBody } from './preferences.body.js';
import type { userGuard } from './user-auth.js';

/** What `GET /users/:userId/preferences` answers: the choices as stored, and what they mean for each event and channel. */
export interface PreferencesView {
  userId: string;
  channels: Partial<Record<Channel, boolean>>;
  events: Partial<Record<EventType, Partial<Record<Channel, boolean>>>>;
  quietHours: QuietHours | null;
  locale: string;
  contact: { email: string | null; phone: string | null; whatsappOptIn: boolean };
  effective: Record<EventType, Record<Channel, boolean>>;
}

type Route = { Params: { userId: string } };

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
  { preferences, authorize }: { preferences: PreferencesRepository; authorize: ReturnType<typeof userGuard> },
): Promise<void> {
  app.get<Route>('/users/:userId/preferences', async (request, reply) => {
    await authorize(request, request.params.userId);
    const profile = await preferences.get(request.params.userId);
    return reply.header('cache-control', 'no-store').send(preferencesView(request.params.userId, profile));
  });

  const write = (mode: 'replace' | 'update') => async (request: FastifyRequest<Route>, reply: FastifyReply) => {
    const { userId } = request.params;
    await authorize(request, userId);
    const patch: PreferencesPatch = parsePreferencesBody(request.body);
    try {
      const profile = await preferences[mode](userId, patch);
      return reply.header('cache-control', 'no-store').send(preferencesView(userId, profile));
    } catch (error) {
      if (error instanceof ErasedUserError) throw gone('this user was erased; nothing about them is stored again');
      throw error;
    }
  };
  app.put<Route>('/users/:userId/preferences', write('replace'));
  app.patch<Route>('/users/:userId/preferences', write('update'));
}
