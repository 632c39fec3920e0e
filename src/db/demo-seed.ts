import pg from 'pg';
import { withTransaction } from './transaction.js';
import type { FieldCipher } from '../util/field-cipher.js';
import { sealContact } from '../store/sealed-contacts.js';

/** Demo travellers for `npm start`: people following train 12951 and flight W2121, so every event has someone to reach. */
export const DEMO_USERS = [
  {
    userId: 'demo-asha',
    name: 'Asha Rao',
    email: 'asha@example.com',
    phone: '+919876543210',
    follows: [['train', '12951', 'PNR4512951']],
  },
  {
    userId: 'demo-ravi',
    name: 'Ravi Kumar',
    email: 'ravi@example.com',
    phone: '+919812345678',
    follows: [['flight', 'W2121', 'W2RAVI']],
  },
  {
    userId: 'demo-meera',
    name: 'Meera Iyer',
    email: 'meera@example.com',
    phone: '+14155550123',
    follows: [
      ['train', '12951', 'PNR4612951'],
      ['flight', 'W2121', 'W2MEER'],
    ],
  },
] as const;

/** Idempotent: running it on every start leaves one copy of each demo user and itinerary. */
export async function seedDemoData(databaseUrl: string, cipher: FieldCipher): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    await withTransaction(pool, async (client) => {
      for (const user of DEMO_USERS) {
        const sealed = sealContact(cipher, user);
        await client.query(
          `INSERT INTO users (user_id, name, email, phone, phone_hash) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (user_id) DO NOTHING`,
          [user.userId, sealed.name, sealed.email, sealed.phone, sealed.phoneHash],
        );
        for (const [kind, number, pnr] of user.follows) {
          await client.query(
            `INSERT INTO itineraries (user_id, pnr_number, vehicle_kind, vehicle_number)
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, pnr_number) WHERE pnr_number IS NOT NULL DO NOTHING`,
            [user.userId, pnr, kind, number],
          );
        }
      }
    });
  } finally {
    await pool.end();
  }
}
