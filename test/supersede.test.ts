import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicName } from '../src/events/index.js';
import { flightDelay } from './fixtures/events.js';
import { startGateway, uniqueEmail, uniquePhone, type Gateway } from './helpers/full-gateway.js';
import { unchangedFor, waitFor } from './helpers/wait-for.js';

/** A newer disruption for the same journey replaces an older one that has not gone out yet. */
describe('supersede', () => {
  let gateway: Gateway;
  const run = randomBytes(2).toString('hex').toUpperCase();
  const who = {
    userId: `sup-${run.toLowerCase()}`,
    email: uniqueEmail('sup'),
    phone: uniquePhone(),
    flight: `S${run}`,
  };
  const statusOf = async (eventId: string, channel: string) => {
    const { rows } = await gateway.pool.query<{
      status: string;
      error_code: string | null;
      error_message: string | null;
    }>('SELECT status, error_code, error_message FROM deliveries WHERE event_id = $1 AND channel = $2', [
      eventId,
      channel,
    ]);
    return rows[0];
  };
  const textsTo = (prefix = '') => gateway.sandbox.store.list((m) => m.to === `${prefix}${who.phone}`);

  beforeAll(async () => {
    gateway = await startGateway('supersede', { env: { RETRY_DELAYS_MS: '4000,4000' } });
    await gateway.preferences.update(who.userId, { email: who.email, phone: who.phone });
    await gateway.itineraries.add({ userId: who.userId, vehicleKind: 'flight', vehicleNumber: who.flight });
  });
  afterAll(() => gateway?.close());

  it('sends the SMS and WhatsApp of the newer delay only; the older ones, waiting on a retry, are recorded superseded', async () => {
    // Twilio fails for a moment: the first notice's SMS and WhatsApp leave for their retry topics.
    gateway.sandbox.faults.set({ failNext: { count: 100, code: 20500, status: 500, to: who.phone } });
    const older = randomUUID();
    await gateway.producer.publish(
      flightDelay({ eventId: older, flightNumber: who.flight, payload: { minutes: 30, reason: 'crew' } }),
    );
    // Released after its failed tries, and waiting on the retry topic.
    const waiting = async (channel: string) => {
      const row = await statusOf(older, channel);
      return row?.status === 'sending' && row.error_code !== null;
    };
    await waitFor(
      'the first notice waiting on its retries',
      async () => (await waiting('sms')) && (await waiting('whatsapp')),
    );
    gateway.sandbox.faults.clear();

    // Then the latest word: the delay is 90 minutes now.
    const newer = randomUUID();
    await gateway.producer.publish(
      flightDelay({
        eventId: newer,
        eventTimestamp: new Date(Date.now() + 1000).toISOString(),
        flightNumber: who.flight,
        payload: { minutes: 90, reason: 'crew' },
      }),
    );
    await waitFor(
      'the older SMS and WhatsApp superseded',
      async () => {
        const [sms, whatsapp] = [await statusOf(older, 'sms'), await statusOf(older, 'whatsapp')];
        return sms?.status === 'superseded' && whatsapp?.status === 'superseded';
      },
      { timeoutMs: 30_000 },
    );
    expect((await statusOf(older, 'sms'))!.error_message).toBe(`replaced by the newer notice ${newer}`);
    await waitFor('the newer SMS and WhatsApp', () => textsTo().length === 1 && textsTo('whatsapp:').length === 1);
    await unchangedFor('no late copy of the older notice', () => textsTo().length + textsTo('whatsapp:').length, 2_000);

    // One text each, with the latest delay.
    expect(textsTo().map((m) => m.body)).toEqual([expect.stringContaining('90')]);
    expect(textsTo()[0]!.body).not.toContain(' 30 ');
    expect(textsTo('whatsapp:')).toHaveLength(1);
    expect(['sent', 'delivered', 'queued']).toContain((await statusOf(newer, 'sms'))!.status);
  });

  it('refuses at POST /events an eventTimestamp further ahead of the gateway than the allowed skew, naming it', async () => {
    const post = (eventTimestamp: string) =>
      fetch(`${gateway.apiUrl}/events`, {
        method: 'POST',
        headers: { 'x-api-key': 'dev-ingest-key', 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'FLIGHT_DELAY',
          flightNumber: `P${run}`,
          eventTimestamp,
          payload: { minutes: 45 },
        }),
      });
    const refused = async (eventTimestamp: string) => {
      const res = await post(eventTimestamp);
      const body = (await res.json()) as { error: string; details?: Array<{ path: string; message: string }> };
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(body.error).toBe('invalid_event');
      expect(body.details).toEqual([{ path: 'eventTimestamp', message: expect.stringContaining('ahead') }]);
    };
    await refused('2099-01-01T00:00:00Z');
    await refused(new Date(Date.now() + 3_600_000).toISOString());
    // A partner clock a little fast is still welcome.
    const close = await post(new Date(Date.now() + 30_000).toISOString());
    expect(close.status, await close.clone().text()).toBe(202);
  });

  it('a delay stamped an hour ahead, written to Kafka directly, does not silence the real delay that follows', async () => {
    const traveller = { userId: `fut-${run.toLowerCase()}`, phone: uniquePhone(), flight: `F${run}` };
    await gateway.preferences.update(traveller.userId, { phone: traveller.phone });
    await gateway.itineraries.add({ userId: traveller.userId, vehicleKind: 'flight', vehicleNumber: traveller.flight });
    const texts = () => gateway.sandbox.store.list((m) => m.to === traveller.phone);
    const journey = { flightNumber: traveller.flight, journeyDate: '2026-12-24' };

    const stamped = randomUUID();
    await gateway.producer.publish(
      flightDelay({
        ...journey,
        eventId: stamped,
        eventTimestamp: new Date(Date.now() + 3_600_000).toISOString(),
        payload: { minutes: 20, reason: 'crew' },
      }),
    );
    await waitFor('the future-stamped delay sent', () => texts().length === 1);

    const real = randomUUID();
    await gateway.producer.publish(
      flightDelay({ ...journey, eventId: real, payload: { minutes: 75, reason: 'crew' } }),
    );
    await waitFor(
      'the real delay settled on SMS',
      async () =>
        (await statusOf(real, 'sms'))?.status !== undefined && (await statusOf(real, 'sms'))?.status !== 'sending',
      { timeoutMs: 30_000 },
    );
    expect(await statusOf(real, 'sms')).toMatchObject({ status: expect.stringMatching(/^(queued|sent|delivered)$/) });
    await waitFor('the real delay texted', () => texts().length === 2);
    expect(texts().map((m) => m.body)).toEqual(
      expect.arrayContaining([expect.stringContaining('20'), expect.stringContaining('75')]),
    );
    for (const channel of ['email', 'whatsapp'])
      await waitFor(`the real delay not superseded on ${channel}`, async () => {
        const status = (await statusOf(real, channel))?.status;
        return status !== undefined && status !== 'sending' && status !== 'superseded';
      });
  });

  it('a cancellation from another producer, its eventTimestamp and record timestamp an hour ahead, does not silence the delay after it', async () => {
    const traveller = { userId: `oth-${run.toLowerCase()}`, phone: uniquePhone(), flight: `O${run}` };
    await gateway.preferences.update(traveller.userId, { phone: traveller.phone });
    await gateway.itineraries.add({ userId: traveller.userId, vehicleKind: 'flight', vehicleNumber: traveller.flight });
    const texts = () => gateway.sandbox.store.list((m) => m.to === traveller.phone);
    const anHourAhead = Date.now() + 3_600_000;

    const producer = gateway.worker.kafka.producer();
    await producer.connect();
    try {
      const cancellation = {
        eventId: randomUUID(),
        eventType: 'TRAVEL_DISRUPTION',
        disruptionType: 'FLIGHT_CANCELLED',
        flightNumber: traveller.flight,
        eventTimestamp: new Date(anHourAhead).toISOString(),
        schemaVersion: 1,
        payload: { reason: 'crew' },
      };
      await producer.send({
        topic: topicName('travel-disruption', gateway.config.KAFKA_TOPIC_PREFIX),
        acks: -1,
        messages: [{ key: traveller.flight, value: JSON.stringify(cancellation), timestamp: String(anHourAhead) }],
      });
    } finally {
      await producer.disconnect();
    }
    await waitFor('the future-stamped cancellation sent', () => texts().length === 1);

    const real = randomUUID();
    await gateway.producer.publish(
      flightDelay({ eventId: real, flightNumber: traveller.flight, payload: { minutes: 55, reason: 'crew' } }),
    );
    await waitFor('the real delay texted', () => texts().length === 2, { timeoutMs: 30_000 });
    expect(texts().map((m) => m.body)).toEqual(expect.arrayContaining([expect.stringContaining('55')]));
    // The text reaches the sandbox a moment before the ledger records it.
    await waitFor('the real delay recorded sent', async () =>
      ['sent', 'delivered', 'queued'].includes((await statusOf(real, 'sms'))?.status ?? ''),
    );
  });

  it('an older notice stamped a little ahead and waiting on a retry is still replaced by the one taken in after it', async () => {
    const traveller = { userId: `ret-${run.toLowerCase()}`, phone: uniquePhone(), flight: `R${run}` };
    await gateway.preferences.update(traveller.userId, { phone: traveller.phone });
    await gateway.itineraries.add({ userId: traveller.userId, vehicleKind: 'flight', vehicleNumber: traveller.flight });
    const texts = () => gateway.sandbox.store.list((m) => m.to === traveller.phone);

    gateway.sandbox.faults.set({ failNext: { count: 100, code: 20500, status: 500, to: traveller.phone } });
    const older = randomUUID();
    // Two minutes ahead: within the skew POST /events allows, so a partner's fast clock may well send this.
    await gateway.producer.publish(
      flightDelay({
        eventId: older,
        flightNumber: traveller.flight,
        eventTimestamp: new Date(Date.now() + 120_000).toISOString(),
        payload: { minutes: 30, reason: 'crew' },
      }),
    );
    await waitFor('the older SMS waiting on its retry', async () => {
      const row = await statusOf(older, 'sms');
      return row?.status === 'sending' && row.error_code !== null;
    });
    gateway.sandbox.faults.clear();

    const newer = randomUUID();
    await gateway.producer.publish(
      flightDelay({ eventId: newer, flightNumber: traveller.flight, payload: { minutes: 90, reason: 'crew' } }),
    );
    await waitFor('the older SMS superseded', async () => (await statusOf(older, 'sms'))?.status === 'superseded', {
      timeoutMs: 30_000,
    });
    expect((await statusOf(older, 'sms'))!.error_message).toBe(`replaced by the newer notice ${newer}`);
    await waitFor('the newer SMS', () => texts().length === 1);
    await unchangedFor('no late copy of the older notice', () => texts().length, 2_000);
    expect(texts().map((m) => m.body)).toEqual([expect.stringContaining('90')]);
  });

  it('still sends an older notice of another kind (a gate change is not replaced by a delay)', async () => {
    const gate = randomUUID();
    await gateway.producer.publish({
      eventId: gate,
      eventType: 'TRAVEL_DISRUPTION',
      disruptionType: 'GATE_CHANGE',
      flightNumber: who.flight,
      eventTimestamp: new Date(Date.now() - 60_000).toISOString(),
      payload: { gate: '42' },
    } as never);
    await waitFor('the gate change sent', async () =>
      ['sent', 'delivered', 'queued'].includes((await statusOf(gate, 'sms'))?.status ?? ''),
    );
  });
});
