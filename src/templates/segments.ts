/**
 * How many SMS parts a text costs, counted the way carriers (and Twilio's `num_segments`) count them.
 *
 * A text that uses only the GSM 03.38 alphabet travels as 7-bit septets: 160 fit one SMS, and a longer text is split
 * into parts of 153 (each part gives 7 septets to the concatenation header). One character outside that alphabet,
 * an emoji, a curly quote or a Devanagari letter, switches the whole text to UCS-2: 70 UTF-16 units alone, 67 per
 * part. Characters of the GSM extension table (`{ } [ ] ~ \ | ^ €` and form feed) are sent as ESC + char and so
 * cost two septets; a part never ends between the two, nor between the halves of a UTF-16 surrogate pair, which is
 * why parts are packed one character at a time rather than by dividing the length.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SegmentCount {
  encoding: SmsEncoding;
  /** SMS parts the text is sent as; 0 for an empty text. */
  segments: number;
  /** Units billed inside the parts: septets for GSM-7 (extension characters count 2), UTF-16 units for UCS-2. */
  characters: number;
}

/** The GSM 03.38 default alphabet, minus the ESC code itself (0x1B), which no text may contain on its own. */
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);

/** The extension table reached through ESC: two septets each. */
const GSM7_EXTENSION = new Set('\f^{}\\[~]|€');

const LIMITS: Record<SmsEncoding, { single: number; perPart: number }> = {
  'GSM-7': { single: 160, perPart: 153 },
  'UCS-2': { single: 70, perPart: 67 },
};

/** Counts the encoding, SMS parts and billed units of `text`. */
export function countSegments(text: string): SegmentCount {
  const gsmWeights = gsm7Weights(text);
  const encoding: SmsEncoding = gsmWeights ? 'GSM-7' : 'UCS-2';
  const weights = gsmWeights ?? ucs2Weights(text);
  const characters = weights.reduce((sum, weight) => sum + weight, 0);
  return { encoding, segments: packParts(weights, characters, LIMITS[encoding]), characters };
}

/** Septets per character, or undefined as soon as one character is outside GSM-7. */
function gsm7Weights(text: string): number[] | undefined {
  const weights: number[] = [];
  for (const char of text) {
    if (GSM7_BASIC.has(char)) weights.push(1);
    else if (GSM7_EXTENSION.has(char)) weights.push(2);
    else return undefined;
  }
  return weights;
}

/** UTF-16 units per code point: 2 for anything outside the Basic Multilingual Plane (most emoji). */
function ucs2Weights(text: string): number[] {
  return Array.from(text, (char) => char.length);
}

function packParts(weights: number[], total: number, limits: { single: number; perPart: number }): number {
  if (total === 0) return 0;
  if (total <= limits.single) return 1;
  let parts = 1;
  let used = 0;
  for (const weight of weights) {
    if (used + weight > limits.perPart) {
      parts += 1;
      used = 0;
    }
    used += weight;
  }
  return parts;
}
