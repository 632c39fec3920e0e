import { createHash } from 'node:crypto';

/** How an ingest API key is stored and compared where it is kept: its SHA-256, so the database never holds the key. */
export const keyDigest = (apiKey: string): string => createHash('sha256').update(apiKey).digest('hex');

/** Enough of a key for an operator to tell which one is meant, and too little to use it. */
export const keyHint = (apiKey: string): string => `…${apiKey.slice(-4)}`;
