import pTimeout from 'p-timeout';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from '../logger.js';
import { createBatchLoader } from '../db/batch-loader.js';
import { withTransaction } from '../db/transaction.js';
import type { Channel, EventType } from '../events/index.js';
import {
  erasedProfile,
  PROFILE_COLUMNS,
  profileFromRow,
  type ProfileRow,
  type QuietHours,
  type UserProfile,
} from '../preferences/profile.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { FieldCipher } from '../util/field-cipher.js';
import { openContacts, sealContact } from './sealed-contacts.js';

const CACHE_TTL_SECONDS = 300;
/**
 * Put in a profile's cache key before its rows are written, and replaced by the new profile once they are committed:
 * while it stands readers go to PostgreSQL and do not fill the key. Should the replacement fail, it lapses on its
 * own, so a failed cache write after a commit costs some reads, never a stale profile.
 */
const WRITING_MARK = JSON.stringify({ writing: true });
const WRITING_MARK_TTL_SECONDS = 30;
/** How long a committed write waits for the cache: past this the mark covers it and the caller gets its answer. */
const CACHE_WRITE_TIMEOUT_MS = 1000;

/** A change to someone's preferences and contact details. Absent fields are left as they are (merge) or reset (replace). */
export interface PreferencesPatch {
  channels?: Partial<Record<Channel, boolean>>;
  eventChannels?: Partial<Record<EventType, Partial<Record<Channel, boolean>>>>;
  /** `null` clears the window. */
  quietHours?: QuietHours | null;
  locale?: string;
  email?: string | null;
  phone?: string | null;
  whatsappOptIn?: boolean;
  /** Delay notices under this many minutes are not sent; `null` clears it. */
  minDelayMinutes?: number | null;
}

/** The person asked to be erased: nothing about them is written again. */
export class ErasedUserError extends GatewayError<'USER_ERASED'> {
  constructor(readonly userId: string) {
    super(`user ${userId} was erased`, { code: 'USER_ERASED', retriable: false });
    this.name = 'ErasedUserError';
  }
}

// Contact details are shared with the booking projection, so even a replace keeps the ones it is not given. They
// arrive sealed, the phone with its keyed hash.
const UPSERT_USER = `
  INSERT INTO users (user_id, email, phone, phone_hash, locale, whatsapp_opt_in)
  VALUES ($1, $2, $3, $8, COALESCE($4, 'en'), COALESCE($5, true))
  ON CONFLICT (user_id) DO UPDATE SET
    email = CASE WHEN $6 THEN EXCLUDED.email ELSE users.email END,
    phone = CASE WHEN $7 THEN EXCLUDED.phone ELSE users.phone END,
    phone_hash = CASE WHEN $7 THEN EXCLUDED.phone_hash ELSE users.phone_hash END,
    locale = COALESCE($4, users.locale),
    whatsapp_opt_in = COALESCE($5, users.whatsapp_opt_in),
    updated_at = now()
  WHERE users.erased_at IS NULL`;

const MERGE_PREFERENCES = `
  INSERT INTO preferences (user_id, channels, event_channels, quiet_start, quiet_end, quiet_time_zone, min_delay_minutes)
  VALUES ($1, $2::jsonb, $3::jsonb, $5::time, $6::time, $7, $9::integer)
  ON CONFLICT (user_id) DO UPDATE SET
    channels = preferences.channels || EXCLUDED.channels,
    event_channels = (SELECT COALESCE(jsonb_object_agg(k, COALESCE(preferences.event_channels -> k, '{}'::jsonb)
                        || COALESCE(EXCLUDED.event_channels -> k, '{}'::jsonb)), '{}'::jsonb)
                      FROM (SELECT jsonb_object_keys(preferences.event_channels || EXCLUDED.event_channels) AS k) keys),
    quiet_start = CASE WHEN $4 THEN EXCLUDED.quiet_start ELSE preferences.quiet_start END,
    quiet_end = CASE WHEN $4 THEN EXCLUDED.quiet_end ELSE preferences.quiet_end END,
    quiet_time_zone = CASE WHEN $4 THEN EXCLUDED.quiet_time_zone ELSE preferences.quiet_time_zone END,
    min_delay_minutes = CASE WHEN $8 THEN EXCLUDED.min_delay_minutes ELSE preferences.min_delay_minutes END,
    updated_at = now()`;

const REPLACE_PREFERENCES = `
  INSERT INTO preferences (user_id, channels, event_channels, quiet_start, quiet_end, quiet_time_zone, min_delay_minutes)
  VALUES ($1, $2::jsonb, $3::jsonb, $4::time, $5::time, $6, $7::integer)
  ON CONFLICT (user_id) DO UPDATE SET channels = EXCLUDED.channels, event_channels = EXCLUDED.event_channels,
    quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end, quiet_time_zone = EXCLUDED.quiet_time_zone,
    min_delay_minutes = EXCLUDED.min_delay_minutes, updated_at = now()`;

/**
 * Profiles and preferences in PostgreSQL, read through a Redis cache. A write marks the cached profile as being
 * written before it commits and puts the new profile in the cache after, so the very next event sees the change even
 * when that last step fails; an erased person is cached as a tombstone. Contact details are sealed in both places and
 * opened only on the way out.
 */
export function createPreferencesRepository({
  pool,
  redis,
  cipher,
  keyPrefix = 'gateway:profile:',
  logger,
}: {
  pool: pg.Pool;
  redis: Redis;
  cipher: FieldCipher;
  keyPrefix?: string;
  /** Where a cache write that failed after a commit is reported (the write itself stands). */
  logger?: Pick<Logger, 'warn'>;
}) {
  const cacheKey = (userId: string) => `${keyPrefix}${userId}`;
  const opened = (profile: UserProfile | undefined) => profile && openContacts(cipher, profile);

  // Profiles read at once (the recipients of deliveries in flight) come in one query.
  const load = createBatchLoader(async (userIds: readonly string[]): Promise<Array<UserProfile | undefined>> => {
    const { rows } = await pool.query<ProfileRow & { erased: boolean }>(
      `SELECT ${PROFILE_COLUMNS}, u.erased_at IS NOT NULL AS erased
         FROM users u LEFT JOIN preferences p ON p.user_id = u.user_id WHERE u.user_id = ANY($1::text[])`,
      [userIds],
    );
    const byId = new Map(
      rows.map((row) => [row.user_id, row.erased ? erasedProfile(row.user_id) : profileFromRow(row)]),
    );
    return userIds.map((id) => byId.get(id));
  });

  /**
   * Reloads after a write and overwrites the cache. Readers only fill an empty key (NX), so a read that began before
   * the write cannot put the older profile back. Fails when Redis does.
   */
  async function refresh(userId: string): Promise<UserProfile | undefined> {
    const profile = await load(userId);
    await redis.set(cacheKey(userId), JSON.stringify({ profile }), 'EX', CACHE_TTL_SECONDS);
    return profile;
  }

  /**
   * Runs a commit that changes someone's rows. Marking the cache first is the one Redis step that may fail the call
   * (then nothing was committed); after the commit, the cache is refreshed as best it can be, within a bound.
   */
  async function writeThrough<T>(
    userId: string,
    commit: () => Promise<T>,
  ): Promise<{ result: T; profile: UserProfile | undefined }> {
    await redis.set(cacheKey(userId), WRITING_MARK, 'EX', WRITING_MARK_TTL_SECONDS);
    const result = await commit();
    const profile = await load(userId);
    const cached = redis.set(cacheKey(userId), JSON.stringify({ profile }), 'EX', CACHE_TTL_SECONDS);
    try {
      await pTimeout(cached, { milliseconds: CACHE_WRITE_TIMEOUT_MS });
    } catch (error) {
      cached.catch(() => {}); // may still settle, late, after the bound
      logger?.warn(
        { err: error, userId },
        'profile cache not refreshed after a committed write; readers use PostgreSQL until its mark lapses',
      );
    }
    return { result, profile: opened(profile) };
  }

  async function write(userId: string, patch: PreferencesPatch, mode: 'merge' | 'replace'): Promise<UserProfile> {
    const quiet = patch.quietHours ?? undefined;
    const { profile } = await writeThrough(userId, () =>
      withTransaction(pool, async (client) => {
        const locale = mode === 'replace' ? (patch.locale ?? 'en') : (patch.locale ?? null);
        const sealed = sealContact(cipher, { email: patch.email, phone: patch.phone });
        const { rowCount } = await client.query(UPSERT_USER, [
          userId,
          sealed.email,
          sealed.phone,
          locale,
          patch.whatsappOptIn ?? null,
          patch.email !== undefined,
          patch.phone !== undefined,
          sealed.phoneHash,
        ]);
        if (rowCount === 0) throw new ErasedUserError(userId);
        const channels = JSON.stringify(patch.channels ?? {});
        const events = JSON.stringify(patch.eventChannels ?? {});
        const window = [quiet?.start ?? null, quiet?.end ?? null, quiet?.timeZone ?? null];
        const threshold = patch.minDelayMinutes ?? null;
        await (mode === 'merge'
          ? client.query(MERGE_PREFERENCES, [
              userId,
              channels,
              events,
              patch.quietHours !== undefined,
              ...window,
              patch.minDelayMinutes !== undefined,
              threshold,
            ])
          : client.query(REPLACE_PREFERENCES, [userId, channels, events, ...window, threshold]));
      }),
    );
    return profile!;
  }

  return {
    /** The profile, or undefined for someone the gateway does not know yet (a first booking); a tombstone if erased. */
    async get(userId: string): Promise<UserProfile | undefined> {
      const cached = await redis.get(cacheKey(userId)).catch(() => null);
      if (cached === WRITING_MARK) return opened(await load(userId));
      if (cached) return opened((JSON.parse(cached) as { profile?: UserProfile }).profile);
      const profile = await load(userId);
      // Unknown users are cached too: a burst of events for a new user costs one query, not one each.
      await redis.set(cacheKey(userId), JSON.stringify({ profile }), 'EX', CACHE_TTL_SECONDS, 'NX').catch(() => {});
      return opened(profile);
    },

    /** After someone else wrote the user's rows (the booking projection, erasure): the cache gets the stored profile. */
    async invalidate(userId: string): Promise<void> {
      await refresh(userId);
    },

    /**
     * For a writer of the user's rows other than this repository (erasure): runs its commit so that no reader is
     * served the cached profile from before it, even if refreshing the cache afterwards fails.
     */
    async writing<T>(userId: string, commit: () => Promise<T>): Promise<T> {
      return (await writeThrough(userId, commit)).result;
    },

    /** Merges a change into the stored preferences (creating the user if needed). Throws ErasedUserError if erased. */
    update(userId: string, patch: PreferencesPatch): Promise<UserProfile> {
      return write(userId, patch, 'merge');
    },

    /**
     * Replaces the stored preferences: channels, event choices, quiet hours and locale not given go back to the
     * defaults. Contact details (email, phone, WhatsApp opt-in) are kept unless given. Throws ErasedUserError if erased.
     */
    replace(userId: string, patch: PreferencesPatch): Promise<UserProfile> {
      return write(userId, patch, 'replace');
    },
  };
}

export type PreferencesRepository = ReturnType<typeof createPreferencesRepository>;
