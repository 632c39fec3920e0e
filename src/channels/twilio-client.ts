import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
// The SDK's type modules are CommonJS with `export default`: from ESM their default sits under `.default`.
import type * as HttpResponse from 'twilio/lib/http/response.js';

/** Where the SDK sends requests unless told otherwise. */
export const TWILIO_API_BASE_URL = 'https://api.twilio.com';

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** https://api.twilio.com for Twilio itself; anything else (the sandbox) receives every request instead. */
  baseUrl: string;
  /** Per-request timeout; the SDK's default is 30 s, long for a consumer that holds a partition meanwhile. */
  timeoutMs?: number;
}

/** Every Twilio product host (api., messaging., …, and their edge/region forms such as api.dublin.ie1.). */
const TWILIO_ORIGIN = /^https:\/\/(?:[a-z0-9-]+\.)*twilio\.com(?::443)?(?=\/|$)/i;

/**
 * Sends what the SDK would send to Twilio to another base URL, path and query unchanged.
 *
 * Why an httpClient rather than setting `client.api.baseUrl`: `httpClient` is a documented constructor option, it
 * sees every request after the SDK has built its final URL (whatever the domain, including the absolute
 * `next_page_uri` links that `list()` follows), and it survives the SDK's lazily created domain objects. The SDK
 * also rewrites hostnames for TWILIO_EDGE / TWILIO_REGION (read from the environment too) before this point; matching
 * any *.twilio.com host keeps that from ever leaking a request to Twilio, and the client's edge and region are
 * cleared anyway so a sandbox URL is never itself rewritten.
 */
class RedirectingRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string,
    options: RequestClient.RequestClientOptions,
  ) {
    super(options);
  }

  override request<TData>(options: RequestClient.RequestOptions<TData>): Promise<HttpResponse.default<TData>> {
    return super.request({ ...options, uri: options.uri.replace(TWILIO_ORIGIN, this.baseUrl) });
  }
}

/**
 * The twilio client the gateway's SMS and WhatsApp adapters use: the ordinary SDK client for Twilio, or one whose
 * every request goes to `baseUrl` (the sandbox), with the same auth, forms, errors and paging.
 */
export function createTwilioClient(options: TwilioClientOptions): twilio.Twilio {
  const { accountSid, authToken, timeoutMs } = options;
  const baseUrl = normaliseBaseUrl(options.baseUrl);
  if (baseUrl === TWILIO_API_BASE_URL) return twilio(accountSid, authToken, { timeout: timeoutMs });
  const client = twilio(accountSid, authToken, {
    httpClient: new RedirectingRequestClient(baseUrl, { timeout: timeoutMs }),
  });
  client.edge = undefined;
  client.region = undefined;
  return client;
}

function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`createTwilioClient: baseUrl is not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`createTwilioClient: baseUrl must be http(s): ${raw}`);
  }
  if (url.search || url.hash)
    throw new TypeError(`createTwilioClient: baseUrl may not carry a query or fragment: ${raw}`);
  // A base URL with a path (a proxy mounting the sandbox under /twilio) keeps it; the SDK's path follows.
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
