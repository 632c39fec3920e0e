import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Channel, EventType } from '../events/index.js';
import { PROFILE_COLUMNS, profileFromRow, type ProfileRow, type UserProfile } from './profile.js';

const CACHE_TTL_SECONDS = 300;

export interface PreferencesPatch {
  channels?: Partial<Record<Channel, boolean>>;
  eventChannels?: Partial<Record<EventType, Partial<Record<Channel, boolean>>>>;
  locale?: string;
  email?: string | null;
  phone?: string | null;
  whatsappOptIn?: boolean;
}

/**
 * Profiles and preferences in PostgreSQL, read through a Redis cache. Every write deletes the cached copy, so the
 * very next event sees the change.
 */
export function createPreferencesRepository({ pool, redis, keyPrefix = 'gateway:profile:' }: { pool: pg.Pool; redis: Redis; keyPrefix?: string }) {
  const cacheKey = (userId: string) => `${keyPrefix}${userId}`;

  async function load(userId: string): Promise<UserProfile | undefined> {
    const { rows } = await pool.query<ProfileRow>(
      `SELECT ${PROFILE_COLUMNS} FROM users u LEFT JOIN preferences p ON p.user_id = u.user_id
        WHERE u.user_id = $1 AND u.erased_at IS NULL`,
      [userId],
    );
    return rows[0] && profileFromRow(rows[0]);
  }

  return {
    /** The profile, or undefined for someone the gateway does not know yet (a first booking). */
    async get(userId: string): Promise<UserProfile | undefined> {
      const cached = await redis.get(cacheKey(userId)).catch(() => null);
      if (cached) return (JSON.parse(cached) as { profile?: UserProfile }).profile;
      const profile = await load(userId);
      // Unknown users are cached too: a burst of events for a new user costs one query, not one each.
      await redis.set(cacheKey(userId), JSON.stringify({ profile }), 'EX', CACHE_TTL_SECONDS).catch(() => {});
      return profile;
    },

    async invalidate(userId: string): Promise<void> {
      await redis.del(cacheKey(userId));
    },

    /** Merges a change into the stored preferences (creating the user if needed) and drops the cached profile. */
    async update(userId: string, patch: PreferencesPatch): Promise<UserProfile> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO users (user_id, email, phone, locale, whatsapp_opt_in) VALUES ($1, $2, $3, COALESCE($4, 'en'), COALESCE($5, true))
           ON CONFLICT (user_id) DO UPDATE SET
             email = CASE WHEN $6 THEN EXCLUDED.email ELSE users.email END,
             phone = CASE WHEN $7 THEN EXCLUDED.phone ELSE users.phone END,
             locale = COALESCE($4, users.locale),
             whatsapp_opt_in = COALESCE($5, users.whatsapp_opt_in),
             updated_at = now()`,
          [userId, patch.email ?? null, patch.phone ?? null, patch.locale ?? null, patch.whatsappOptIn ?? null,
            patch.email !== undefined, patch.phone !== undefined],
        );
        await client.query(
          `INSERT INTO preferences (user_id, channels, event_channels) VALUES ($1, $2::jsonb, $3::jsonb)
           ON CONFLICT (user_id) DO UPDATE SET
             channels = preferences.channels || EXCLUDED.channels,
             event_channels = (SELECT COALESCE(jsonb_object_agg(k, COALESCE(preferences.event_channels -> k, '{}'::jsonb)
                                 || COALESCE(EXCLUDED.event_channels -> k, '{}'::jsonb)), '{}'::jsonb)
                               FROM (SELECT jsonb_object_keys(preferences.event_channels || EXCLUDED.event_channels) AS k) keys),
             updated_at = now()`,
          [userId, JSON.stringify(patch.channels ?? {}), JSON.stringify(patch.eventChannels ?? {})],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
      await redis.del(cacheKey(userId));
      return (await load(userId))!;
    },
  };
}

export type PreferencesRepository = ReturnType<typeof createPreferencesRepository>;
