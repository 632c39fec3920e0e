import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** One data key: its id (kept beside every value it encrypted, so rotation knows which to use) and 32 bytes. */
export interface DataKey {
  id: string;
  key: Buffer;
}

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
/** IVs are cut from random bytes drawn this many at a time: one call into the generator per 341 values sealed. */
const IV_POOL_BYTES = 4096;

/**
 * A fresh random IV. Drawing 12 bytes costs about as much as drawing 4 KiB (the call, not the bytes, is the cost: a
 * quarter of a seal here), and a delivery seals three or four values. Each IV is its own slice of the pool, never
 * handed out twice; an exhausted pool is replaced, not refilled, so no IV already handed out changes.
 */
function createIvSource(): () => Buffer {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + IV_BYTES > pool.length) {
      pool = randomBytes(IV_POOL_BYTES);
      offset = 0;
    }
    offset += IV_BYTES;
    return pool.subarray(offset - IV_BYTES, offset);
  };
}

/**
 * Parses `DATA_ENCRYPTION_KEYS`: `id:base64` pairs separated by commas, the first one encrypting, every one decrypting.
 * Rotation is a new key put first: values are written with it from then on, and read with whichever key wrote them.
 */
export function parseDataKeys(text: string): DataKey[] {
  return text
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const [id, encoded, ...rest] = pair.split(':');
      if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || !encoded || rest.length > 0) {
        throw new RangeError('each key must be id:base64 (an id of letters, digits, - or _)');
      }
      const key = Buffer.from(encoded, 'base64');
      if (key.length !== 32) throw new RangeError(`key ${id} must be 32 bytes in base64 (openssl rand -base64 32)`);
      return { id, key };
    });
}

/**
 * Encryption at rest for contact details, message bodies and secrets (AES-256-GCM, a random IV per value, the
 * column's name as associated data so a value cannot be moved to another column and still read), and the keyed hash
 * that look-ups by phone number go through instead of the number itself.
 */
export function createFieldCipher({ keys, hashKey }: { keys: DataKey[]; hashKey: Buffer }) {
  const current = keys[0];
  if (!current) throw new RangeError('at least one data key is needed');
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  const nextIv = createIvSource();

  return {
    /** The value sealed with the current key, as text a column can hold. */
    seal(plain: string, column: string): string {
      const iv = nextIv();
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(Buffer.from(column));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
      return `${PREFIX}${current.id}:${parts.join(':')}`;
    },
    /** The plain value; one written before encryption was turned on is returned as it is. */
    open(stored: string, column: string): string {
      if (!stored.startsWith(PREFIX)) return stored;
      const [id, iv, tag, body] = stored.slice(PREFIX.length).split(':');
      const key = id ? byId.get(id) : undefined;
      if (!key || !iv || !tag || body === undefined) {
        throw new RangeError(`a value sealed with data key ${id ?? '?'}, which is not configured`);
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(column));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
    /** Whether a stored value should be sealed again: plain, or sealed with a key that is no longer the first. */
    stale(stored: string): boolean {
      return !stored.startsWith(`${PREFIX}${current.id}:`);
    },
    /** The current key's id: a value sealed with another (or not sealed) is sealed again by the resealer. */
    currentKeyId: current.id,
    /** A keyed hash (HMAC-SHA256, hex) to find a value by without storing it: equal inputs, equal hashes. */
    hash(value: string): string {
      return createHmac('sha256', hashKey).update(value).digest('hex');
    },
  };
}

export type FieldCipher = ReturnType<typeof createFieldCipher>;

/** Whether a stored text is a sealed value (rather than one written before sealing was turned on). */
export const isSealed = (stored: string): boolean => stored.startsWith(PREFIX);

/** A nullable column's value sealed; null stays null (erasure's blanks, a subject an SMS does not have). */
export function sealOptional(cipher: FieldCipher, plain: string | null | undefined, column: string): string | null {
  return plain === null || plain === undefined ? null : cipher.seal(plain, column);
}

/** A nullable column's value opened. */
export function openOptional(cipher: FieldCipher, stored: string | null | undefined, column: string): string | null {
  return stored === null || stored === undefined ? null : cipher.open(stored, column);
}

/**
 * A JSON value sealed for a jsonb column: the column holds one JSON string, the sealed text of the value's JSON.
 * Returns the JSON text to bind as the parameter.
 */
export function sealJson(cipher: FieldCipher, value: unknown, column: string): string {
  return JSON.stringify(cipher.seal(JSON.stringify(value), column));
}

/** A jsonb column's value as written: sealed ones opened and parsed, any other (from before sealing) as it is. */
export function openJson(cipher: FieldCipher, stored: unknown, column: string): unknown {
  return typeof stored === 'string' && isSealed(stored) ? JSON.parse(cipher.open(stored, column)) : stored;
}

/** The process's cipher, from its configured keys. */
export const fieldCipherOf = (config: { DATA_ENCRYPTION_KEYS: DataKey[]; DATA_HASH_KEY: Buffer }): FieldCipher =>
  createFieldCipher({ keys: config.DATA_ENCRYPTION_KEYS, hashKey: config.DATA_HASH_KEY });
