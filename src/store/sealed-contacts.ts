import type { UserProfile } from '../preferences/profile.js';
import { openOptional, sealOptional, type FieldCipher } from '../util/field-cipher.js';

/**
 * Contact details as `users` stores them: name, email and phone sealed (each bound to its column), and the phone's
 * keyed hash beside it for the one look-up by number there is (the owners of a number that replied STOP).
 */
export interface SealedContact {
  name: string | null;
  email: string | null;
  phone: string | null;
  phoneHash: string | null;
}

export function sealContact(
  cipher: FieldCipher,
  contact: { name?: string | null; email?: string | null; phone?: string | null },
): SealedContact {
  return {
    name: sealOptional(cipher, contact.name, 'users.name'),
    email: sealOptional(cipher, contact.email, 'users.email'),
    phone: sealOptional(cipher, contact.phone, 'users.phone'),
    phoneHash: contact.phone ? cipher.hash(contact.phone) : null,
  };
}

/**
 * A profile read from `users` (or from the profile cache, which holds it as stored) with its contact details opened.
 * Profiles are cached sealed so that Redis holds no more in the clear than PostgreSQL does.
 */
export function openContacts(cipher: FieldCipher, profile: UserProfile): UserProfile {
  const name = openOptional(cipher, profile.name, 'users.name');
  const email = openOptional(cipher, profile.email, 'users.email');
  const phone = openOptional(cipher, profile.phone, 'users.phone');
  return {
    ...profile,
    ...(name !== null && { name }),
    ...(email !== null && { email }),
    ...(phone !== null && { phone }),
  };
}

/** A contact's fields opened, as the routes show them. */
export function openContact<T extends { email: string | null; phone: string | null }>(cipher: FieldCipher, row: T): T {
  return {
    ...row,
    email: openOptional(cipher, row.email, 'users.email'),
    phone: openOptional(cipher, row.phone, 'users.phone'),
  };
}
