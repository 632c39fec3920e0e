import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ItinerariesRepository } from '../store/itineraries.repository.js';
import { badRequest } from './errors.js';
import type { userGuard } from './user-auth.js';

const vehicle = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9]{2,10}$/, 'must be 2 to 10 letters or digits')
  .transform((v) => v.toUpperCase());
const body = z
  .object({
    flightNumber: vehicle.optional(),
    trainNumber: vehicle.optional(),
    journeyDate: z.iso.date().optional(),
    pnrNumber: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]{5,16}$/, 'must be 5 to 16 letters or digits')
      .optional(),
  })
  .strict()
  .refine((v) => Boolean(v.flightNumber) !== Boolean(v.trainNumber), {
    path: ['flightNumber'],
    message: 'give exactly one of flightNumber or trainNumber',
  });

/** `POST /users/:userId/itineraries`: follow a flight or a train, as a travel app does for its user. */
export async function itinerariesRoutes(
  app: FastifyInstance,
  { itineraries, authorize }: { itineraries: ItinerariesRepository; authorize: ReturnType<typeof userGuard> },
): Promise<void> {
  app.post<{ Params: { userId: string } }>('/users/:userId/itineraries', async (request, reply) => {
    await authorize(request, request.params.userId);
    const parsed = body.safeParse(request.body);
    if (!parsed.success) {
      throw badRequest(
        'invalid itinerary',
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    const { flightNumber, trainNumber, journeyDate, pnrNumber } = parsed.data;
    const id = await itineraries.add({
      userId: request.params.userId,
      vehicleKind: flightNumber ? 'flight' : 'train',
      vehicleNumber: (flightNumber ?? trainNumber)!,
      journeyDate,
      pnrNumber,
    });
    return reply.code(201).send({ id, userId: request.params.userId, ...parsed.data });
  });
}
