import type { Channel, GatewayEvent } from '../events/index.js';
import type { PreferencesRepository } from '../store/preferences.repository.js';
import type { UserProfile } from '../preferences/profile.js';
import type { ItinerariesRepository, TravellerPart } from '../store/itineraries.repository.js';

/**
 * The people an event concerns, page by page: a booking's own traveller, or everyone on the disrupted flight or train.
 * A booking event's contact details are used where the person has none of their own on file.
 */
export async function* recipientsOf(
  event: GatewayEvent,
  {
    preferences,
    itineraries,
    part,
  }: { preferences: PreferencesRepository; itineraries: ItinerariesRepository; part?: TravellerPart | undefined },
): AsyncGenerator<UserProfile[]> {
  if (event.eventType === 'TRAVEL_DISRUPTION') {
    yield* itineraries.travellersAffectedBy(event, part ? { part } : {});
    return;
  }
  const profile = await preferences.get(event.userId);
  yield [
    {
      userId: event.userId,
      whatsappOptIn: true,
      locale: 'en',
      channels: {},
      eventChannels: {},
      ...profile,
      name: profile?.name ?? event.userName,
      email: profile?.email ?? event.userEmail,
      phone: profile?.phone ?? event.userPhone,
    },
  ];
}

/**
 * One named recipient of an event, for a retried delivery, found as the first attempt found them: the booking's
 * traveller as above, a disruption's traveller with their journey's threshold; anyone else (no longer on the journey,
 * erased) from their profile. Undefined when the gateway does not know them: there is no one to deliver to.
 */
export async function recipientById(
  event: GatewayEvent,
  userId: string,
  deps: { preferences: PreferencesRepository; itineraries: ItinerariesRepository },
): Promise<UserProfile | undefined> {
  if (event.eventType === 'TRAVEL_DISRUPTION') {
    const traveller = await deps.itineraries.travellerAffectedBy(event, userId);
    if (traveller) return traveller;
  } else if (event.userId === userId) {
    for await (const [profile] of recipientsOf(event, deps)) return profile;
  }
  return deps.preferences.get(userId);
}

/** Where a channel reaches this person, or why it cannot. */
export function addressOf(channel: Channel, profile: UserProfile): { to: string } | { skip: string; reason: string } {
  switch (channel) {
    case 'email':
      return profile.email ? { to: profile.email } : { skip: 'NO_ADDRESS', reason: 'no email address on file' };
    case 'sms':
      return profile.phone ? { to: profile.phone } : { skip: 'NO_ADDRESS', reason: 'no phone number on file' };
    case 'whatsapp':
      if (!profile.phone) return { skip: 'NO_ADDRESS', reason: 'no phone number on file' };
      return profile.whatsappOptIn
        ? { to: `whatsapp:${profile.phone}` }
        : { skip: 'NOT_OPTED_IN', reason: 'not opted in to WhatsApp' };
    case 'websocket':
      return { to: profile.userId };
  }
}
