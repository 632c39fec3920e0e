import { describe, expect, it } from 'vitest';
import { newMessageSid, type SandboxMessage } from './message.js';
import { createMessageStore } from './store.js';

function message(body: string): SandboxMessage {
  const now = new Date();
  return {
    sid: newMessageSid(),
    accountSid: `AC${'0'.repeat(32)}`,
    to: '+14155550100',
    from: '+15005550006',
    messagingServiceSid: null,
    body,
    status: 'queued',
    numSegments: 1,
    errorCode: null,
    errorMessage: null,
    dateCreated: now,
    dateUpdated: now,
    dateSent: null,
  };
}

describe('message store', () => {
  it('lists newest first and forgets the oldest beyond its capacity', () => {
    const store = createMessageStore({ capacity: 3 });
    const added = ['a', 'b', 'c', 'd', 'e'].map((body) => {
      const m = message(body);
      store.add(m);
      return m;
    });
    expect(store.size).toBe(3);
    expect(store.list().map((m) => m.body)).toEqual(['e', 'd', 'c']);
    expect(store.get(added[0]!.sid)).toBeUndefined();
    expect(store.list((m) => m.body !== 'd').map((m) => m.body)).toEqual(['e', 'c']);
  });

  it('updates a kept message and ignores one already forgotten', () => {
    const store = createMessageStore({ capacity: 1 });
    const first = message('first');
    store.add(first);
    const updated = store.update(first.sid, { status: 'sent' });
    expect(updated?.status).toBe('sent');
    expect(updated!.dateUpdated.getTime()).toBeGreaterThanOrEqual(first.dateCreated.getTime());
    store.add(message('second'));
    expect(store.update(first.sid, { status: 'delivered' })).toBeUndefined();
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => createMessageStore({ capacity: 0 })).toThrow(TypeError);
  });
});
