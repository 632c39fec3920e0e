/** A running part of the gateway; main.ts starts the roles asked for and stops them in reverse order. */
export interface Role {
  name: string;
  /** Addresses worth printing at start. */
  urls: Record<string, string>;
  stop(): Promise<void>;
}
