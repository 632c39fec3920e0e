import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ItinerariesRepository } from '../store/itineraries.repository.js';
import type { UserGuard } from './guards.js';
import { delayThreshold } from './preferences.body.js';
import { refusing, userParams } from './route-schemas.js';

const vehicle = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9]{2,10}$/, 'must be 2 to 10 letters or digits')
  .transform((v) => v.toUpperCase());
const fields = {
  flightNumber: vehicle.optional(),
  trainNumber: vehicle.optional(),
  journeyDate: z.iso.date().optional(),
  pnrNumber: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9]{5,16}$/, 'must be 5 to 16 letters or digits')
    .optional(),
  /** Delay notices for this journey under this many minutes are not sent (wins over the person's own threshold). */
  minDelayMinutes: delayThreshold.optional(),
};
const itineraryBody = refusing(
  z
    .looseObject(fields)
    // Unknown fields are one problem of the body as a whole, naming them all.
    .superRefine((body, ctx) => {
      const unknown = Object.keys(body).filter((key) => !(key in fields));
      if (unknown.length) ctx.addIssue({ code: 'custom', path: [], message: `unknown field ${unknown.join(', ')}` });
    })
    .transform(({ flightNumber, trainNumber, journeyDate, pnrNumber, minDelayMinutes }) => ({
      flightNumber,
      trainNumber,
      journeyDate,
      pnrNumber,
      minDelayMinutes,
    }))
    .refine((v) => Boolean(v.flightNumber) !== Boolean(v.trainNumber), {
      path: ['flightNumber'],
      message: 'give exactly one of flightNumber or trainNumber',
    }),
  { message: 'invalid itinerary' },
);

/** `POST /users/:userId/itineraries`: follow a flight or a train, as a travel app does for its user. */
export async function itinerariesRoutes(
  app: FastifyInstance,
  { itineraries, authorize }: { itineraries: ItinerariesRepository; authorize: UserGuard },
): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().post('/users/:userId/itineraries', {
    schema: { params: userParams, body: itineraryBody },
    onRequest: authorize,
    handler: async (request, reply) => {
      const { flightNumber, trainNumber, journeyDate, pnrNumber, minDelayMinutes } = request.body;
      const id = await itineraries.add({
        userId: request.params.userId,
        vehicleKind: flightNumber ? 'flight' : 'train',
        vehicleNumber: (flightNumber ?? trainNumber)!,
        journeyDate,
        pnrNumber,
        minDelayMinutes,
      });
      return reply.code(201).send({ id, userId: request.params.userId, ...request.body });
    },
  });
}
