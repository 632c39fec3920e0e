/** The four kinds of event the gateway accepts, and the Kafka topic each one travels on. */
export const EVENT_TYPES = [
  'BOOKING_CONFIRMED',
  'BOOKING_CANCELLED',
  'PAYMENT_COMPLETED',
  'TRAVEL_DISRUPTION',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const TOPIC_BY_EVENT_TYPE = {
  BOOKING_CONFIRMED: 'booking-confirmed',
  BOOKING_CANCELLED: 'booking-cancelled',
  PAYMENT_COMPLETED: 'payment-completed',
  TRAVEL_DISRUPTION: 'travel-disruption',
} as const satisfies Record<EventType, string>;
export type EventTopic = (typeof TOPIC_BY_EVENT_TYPE)[EventType];

export const EVENT_TOPICS = Object.values(TOPIC_BY_EVENT_TYPE) as EventTopic[];

export const DISRUPTION_TYPES = [
  'FLIGHT_DELAY',
  'FLIGHT_CANCELLED',
  'TRAIN_DELAY',
  'TRAIN_CANCELLED',
  'PLATFORM_CHANGE',
  'GATE_CHANGE',
  'DESTINATION_DISRUPTION',
] as const;
export type DisruptionType = (typeof DISRUPTION_TYPES)[number];

export const CHANNELS = ['email', 'sms', 'whatsapp', 'websocket'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The operator's notification matrix: which channels an event reaches before users narrow it. */
export const DEFAULT_ROUTING: Readonly<Record<EventType, readonly Channel[]>> = {
  BOOKING_CONFIRMED: ['email', 'sms', 'whatsapp', 'websocket'],
  BOOKING_CANCELLED: ['email', 'sms', 'websocket'],
  PAYMENT_COMPLETED: ['email', 'websocket'],
  TRAVEL_DISRUPTION: ['email', 'sms', 'whatsapp', 'websocket'],
};

/** Topic name as deployed: tests run on their own prefix so that runs never see each other's records. */
export function topicName(topic: EventTopic, prefix = ''): string {
  return `${prefix}${topic}`;
}
