import { describe, expect, it } from 'vitest';
import type { Channel } from '../events/index.js';
import { dlqTopic, retryLevelOf, retryTopic } from './names.js';

describe('retry topic names', () => {
  it.each<[Channel, number, string, string]>([
    ['email', 1, '', 'notifications.email.retry.1'],
    ['sms', 3, '', 'notifications.sms.retry.3'],
    ['whatsapp', 2, 'test-ab12-', 'test-ab12-notifications.whatsapp.retry.2'],
    ['websocket', 12, 'x.', 'x.notifications.websocket.retry.12'],
  ])('retryTopic(%s, %s, %j) is %s, and its level reads back', (channel, level, prefix, name) => {
    expect(retryTopic(channel, level, prefix)).toBe(name);
    expect(retryLevelOf(name)).toBe(level);
  });

  it.each([
    ['an event topic', 'booking-confirmed', 0],
    ['a prefixed event topic', 'test-ab12-travel-disruption', 0],
    ['a dead-letter topic', dlqTopic('sms'), 0],
    ['a retry name with no level', 'notifications.sms.retry.', 0],
    ['a level that is not at the end', 'notifications.sms.retry.2.dlq', 0],
    ['a level that is not a number', 'notifications.sms.retry.two', 0],
  ])('retryLevelOf(%s) is %s', (_, topic, level) => {
    expect(retryLevelOf(topic)).toBe(level);
  });
});
