import { describe, expect, it } from 'vitest';
import { countSegments } from './segments.js';

describe('countSegments', () => {
  it('counts nothing for an empty text', () => {
    expect(countSegments('')).toEqual({ encoding: 'GSM-7', segments: 0, characters: 0 });
  });

  it('fits 160 GSM-7 characters in one SMS and splits longer texts into parts of 153', () => {
    expect(countSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1, characters: 160 });
    expect(countSegments('a'.repeat(161)).segments).toBe(2);
    expect(countSegments('a'.repeat(200)).segments).toBe(2);
    expect(countSegments('a'.repeat(306)).segments).toBe(2);
    expect(countSegments('a'.repeat(307)).segments).toBe(3);
  });

  it('keeps accented letters of the GSM alphabet, line breaks and its symbols in GSM-7', () => {
    const text = 'Hello Zoe! Ünïcode? No: @£$¥ èéùìò Ç ÄÖÑÜ§¿ äöñüà ΔΦΓΛΩΠΨΣΘΞ ÆæßÉ\r\n¡"#¤%&\'()*+,-./:;<=>?_';
    expect(countSegments(text).encoding).toBe('UCS-2'); // ï is not in the GSM alphabet
    expect(countSegments(text.replace('ï', 'i'))).toMatchObject({ encoding: 'GSM-7', segments: 1 });
  });

  it('counts extension-table characters as two septets', () => {
    expect(countSegments('€{}[]~\\|^\f')).toEqual({ encoding: 'GSM-7', segments: 1, characters: 20 });
    expect(countSegments('€'.repeat(80))).toMatchObject({ segments: 1, characters: 160 });
    expect(countSegments('€'.repeat(81))).toMatchObject({ segments: 2, characters: 162 });
  });

  it('never splits an escape sequence across two parts', () => {
    // 306 septets would fit two parts of 153, but the € would straddle the boundary, so it opens a third.
    const text = `${'a'.repeat(152)}€${'a'.repeat(152)}`;
    expect(countSegments(text)).toEqual({ encoding: 'GSM-7', segments: 3, characters: 306 });
  });

  it('switches the whole text to UCS-2 for one character outside GSM-7: 70 alone, 67 per part', () => {
    expect(countSegments('ç'.repeat(70))).toEqual({ encoding: 'UCS-2', segments: 1, characters: 70 });
    expect(countSegments('ç'.repeat(71)).segments).toBe(2);
    expect(countSegments('ç'.repeat(134)).segments).toBe(2);
    expect(countSegments('ç'.repeat(135)).segments).toBe(3);
    expect(countSegments('आपकी ट्रेन 12951 प्लेटफॉर्म 3 पर है').encoding).toBe('UCS-2');
    expect(countSegments('Your train’s late').encoding).toBe('UCS-2'); // a curly apostrophe
  });

  it('counts an emoji as two UTF-16 units', () => {
    expect(countSegments(`${'a'.repeat(68)}😀`)).toEqual({ encoding: 'UCS-2', segments: 1, characters: 70 });
    expect(countSegments(`${'a'.repeat(69)}😀`)).toEqual({ encoding: 'UCS-2', segments: 2, characters: 71 });
  });

  it('never splits a surrogate pair across two parts', () => {
    const text = `${'a'.repeat(66)}😀${'a'.repeat(66)}`;
    expect(countSegments(text)).toEqual({ encoding: 'UCS-2', segments: 3, characters: 134 });
  });
});
