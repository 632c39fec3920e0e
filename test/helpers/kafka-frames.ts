/**
 * The little of Kafka's wire protocol a proxy needs to answer an offset commit itself: frames (an int32 size, then
 * that many bytes), a request's header, and OffsetCommit in the versions kafkajs sends (0 to 5, none of them flexible).
 */

export const OFFSET_COMMIT = 8;
/** What a broker answers when it cannot write a commit to __consumer_offsets (its replicas too few, a write timed out). */
export const COORDINATOR_NOT_AVAILABLE = 15;

/** Cuts a byte stream into whole frames, each with its size prefix, however the stream was chunked. */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames: Buffer[] = [];
    while (this.length >= 4) {
      const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.joined();
      const size = 4 + head.readInt32BE(0);
      if (this.length < size) break;
      const all = this.joined();
      frames.push(all.subarray(0, size));
      const rest = all.subarray(size);
      this.chunks = rest.length ? [rest] : [];
      this.length = rest.length;
    }
    return frames;
  }

  /** Joins what is buffered only when a frame is complete, so a large fetch response is not copied chunk by chunk. */
  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0]!;
  }
}

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Where the request's body starts in the frame. */
  bodyAt: number;
}

/** Request header v1 (api key, version, correlation id, nullable client id), the one kafkajs writes for every request. */
export function requestHeader(frame: Buffer): RequestHeader {
  const clientIdLength = frame.readInt16BE(12);
  return {
    apiKey: frame.readInt16BE(4),
    apiVersion: frame.readInt16BE(6),
    correlationId: frame.readInt32BE(8),
    bodyAt: 14 + Math.max(clientIdLength, 0),
  };
}

export interface CommittedTopic {
  topic: string;
  partitions: number[];
}

/** Reads Kafka's big-endian primitives from a position that moves on. */
class Reader {
  constructor(
    private readonly buffer: Buffer,
    private at: number,
  ) {}
  int16 = () => this.move(2, () => this.buffer.readInt16BE(this.at));
  int32 = () => this.move(4, () => this.buffer.readInt32BE(this.at));
  skip = (bytes: number) => this.move(bytes, () => undefined);
  string = (): string | null => {
    const length = this.int16();
    if (length < 0) return null;
    return this.move(length, () => this.buffer.toString('utf8', this.at, this.at + length));
  };
  array = <T>(item: () => T): T[] => Array.from({ length: Math.max(this.int32(), 0) }, item);
  private move<T>(bytes: number, read: () => T): T {
    const value = read();
    this.at += bytes;
    return value;
  }
}

/** The versions of OffsetCommit this module reads and answers: those kafkajs 2 sends. */
export const OFFSET_COMMIT_VERSIONS = [0, 1, 2, 3, 4, 5];

/** The topics and partitions an OffsetCommit request (version 0 to 5) commits, read from its frame. */
export function committedTopics(frame: Buffer, { apiVersion, bodyAt }: RequestHeader): CommittedTopic[] {
  if (!OFFSET_COMMIT_VERSIONS.includes(apiVersion)) throw new Error(`OffsetCommit v${apiVersion} is not read here`);
  const r = new Reader(frame, bodyAt);
  r.string(); // group_id
  if (apiVersion >= 1) {
    r.int32(); // generation_id
    r.string(); // member_id
  }
  if (apiVersion >= 2 && apiVersion <= 4) r.skip(8); // retention_time
  return r.array(() => ({
    topic: r.string() ?? '',
    partitions: r.array(() => {
      const partition = r.int32();
      r.skip(apiVersion === 1 ? 16 : 8); // offset, and in v1 a timestamp
      r.string(); // metadata
      return partition;
    }),
  }));
}

/** An OffsetCommit response of the request's version with `errorCode` for every partition it named. */
export function offsetCommitFailure(header: RequestHeader, topics: CommittedTopic[], errorCode: number): Buffer {
  const parts: Buffer[] = [int32(header.correlationId)];
  if (header.apiVersion >= 3) parts.push(int32(0)); // throttle_time_ms
  parts.push(int32(topics.length));
  for (const { topic, partitions } of topics) {
    const name = Buffer.from(topic, 'utf8');
    parts.push(int16(name.length), name, int32(partitions.length));
    for (const partition of partitions) parts.push(int32(partition), int16(errorCode));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length), body]);
}

function int16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(value);
  return b;
}
function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}
