import { describe, expect, it } from 'vitest';
import { wantsPrettyLogs } from './logger.js';

describe('log format', () => {
  it('is readable lines for a person at a terminal, JSON in production and whenever output is piped', () => {
    expect(wantsPrettyLogs('development', true)).toBe(true);
    expect(wantsPrettyLogs('test', true)).toBe(true);
    expect(wantsPrettyLogs('production', true)).toBe(false);
    expect(wantsPrettyLogs('development', false)).toBe(false);
    expect(wantsPrettyLogs('development', undefined)).toBe(false);
  });
});
