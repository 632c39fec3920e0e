/**
 * The gateway's own renderer (precompiled Handlebars, layouts, JSON checks for websocket alerts) on one core: every
 * event type × channel that has a template, in English and Hindi, round-robin.
 */
import { CHANNELS, DISRUPTION_TYPES, EVENT_TYPES } from '../../../src/events/index.js';
import { createTemplateRenderer, type RenderInput } from '../../../src/templates/renderer.js';
import { sampleDisruption, sampleEvent, sampleRecipient } from '../../../src/templates/samples.js';

const WARMUP_MS = 500;
const DURATION_MS = 3_000;
/** Renders between clock reads: performance.now() would otherwise be a measurable part of the loop. */
const CHUNK = 64;

function renderMix(renderer: ReturnType<typeof createTemplateRenderer>): RenderInput[] {
  const available = new Set(renderer.list().map((t) => `${t.eventType}/${t.channel}`));
  const recipient = sampleRecipient();
  const events = [
    ...EVENT_TYPES.map((type) => sampleEvent(type)),
    ...DISRUPTION_TYPES.map((type) => sampleDisruption(type)),
  ];
  return events.flatMap((event) =>
    CHANNELS.filter((channel) => available.has(`${event.eventType}/${channel}`)).flatMap((channel) =>
      ['en', 'hi-IN'].map((locale) => ({ eventType: event.eventType, channel, locale, event, recipient })),
    ),
  );
}

/** Renders as many as it can until `until`; returns how many. */
function renderUntil(
  renderer: ReturnType<typeof createTemplateRenderer>,
  inputs: RenderInput[],
  until: number,
): number {
  let done = 0;
  while (performance.now() < until) {
    for (let i = 0; i < CHUNK; i++) renderer.render(inputs[(done + i) % inputs.length]!);
    done += CHUNK;
  }
  return done;
}

/** Renders/s, after a warm-up that lets V8 optimise the compiled templates and helpers. */
export async function measureTemplateRenders(): Promise<number> {
  const renderer = createTemplateRenderer();
  const inputs = renderMix(renderer);
  if (inputs.length === 0) throw new Error('no templates found');
  renderUntil(renderer, inputs, performance.now() + WARMUP_MS);
  const start = performance.now();
  const count = renderUntil(renderer, inputs, start + DURATION_MS);
  return count / ((performance.now() - start) / 1000);
}
