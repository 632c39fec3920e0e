export * from './event-types.js';
export * from './schemas.js';
export * from './parse.js';
export { futureTimestampIssue } from './clock-skew.js';
export { eventJsonSchemas } from './json-schema.js';
export { toE164 } from './phone.js';
