import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { WebhookError } from './errors.js';
import { parseRetryAfter } from './schedule.js';
import { parseEndpointUrl, resolveAllowed, safeLookup, type Resolver, type UrlPolicy } from './url-policy.js';

export interface SendOptions {
  url: string;
  /** The signed headers (webhook-id, webhook-timestamp, webhook-signature). */
  headers: Record<string, string>;
  body: string;
  policy: UrlPolicy;
  /** The whole attempt — connect, send, response head and capped body — must fit in this. */
  timeoutMs: number;
  /** Response bytes kept (the rest is not read). */
  maxResponseBytes?: number;
  resolver?: Resolver;
  userAgent?: string;
}

/** What one attempt got back: an HTTP answer, or an error (refused address, timeout, network). */
export interface SendResult {
  ok: boolean;
  /** HTTP status; null when no response arrived. */
  status: number | null;
  durationMs: number;
  /** Retry-After of the response, in ms; null when absent. */
  retryAfterMs: number | null;
  /** The start of the response body (up to maxResponseBytes), for the delivery log. */
  responseBody: string;
  error: WebhookError | null;
}

/** POSTs one signed message. Never throws: failures come back in `error`. Redirects are not followed. */
export async function sendWebhook(options: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const done = (partial: Omit<SendResult, 'durationMs'>): SendResult => ({ ...partial, durationMs: Math.round(performance.now() - started) });
  let url: URL;
  try {
    url = parseEndpointUrl(options.url, options.policy);
    // An IP literal never reaches the lookup below, so it is checked here.
    await resolveAllowed(url.hostname, options.policy, async () => []).catch((err: unknown) => {
      if (err instanceof WebhookError && err.code === 'DNS_FAILED') return;
      throw err;
    });
  } catch (err) {
    return done({ ok: false, status: null, retryAfterMs: null, responseBody: '', error: err as WebhookError });
  }
  try {
    const res = await post(url, options);
    const ok = res.status >= 200 && res.status < 300;
    return done({ ok, status: res.status, retryAfterMs: parseRetryAfter(res.retryAfter), responseBody: res.body, error: null });
  } catch (err) {
    return done({ ok: false, status: null, retryAfterMs: null, responseBody: '', error: toWebhookError(err, options.timeoutMs) });
  }
}

function toWebhookError(err: unknown, timeoutMs: number): WebhookError {
  if (err instanceof WebhookError) return err;
  if (err instanceof Error && err.name === 'TimeoutError') {
    return new WebhookError('DELIVERY_TIMEOUT', `no complete answer within ${timeoutMs} ms`, { cause: err, retryable: true });
  }
  const code = (err as NodeJS.ErrnoException).code;
  return new WebhookError('DELIVERY_NETWORK', `request failed${code ? ` (${code})` : ''}`, { cause: err, retryable: true });
}

function post(url: URL, options: SendOptions): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
  const limit = options.maxResponseBytes ?? 4_096;
  const signal = AbortSignal.timeout(options.timeoutMs);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      signal,
      lookup: safeLookup(options.policy, options.resolver) as never,
      headers: {
        ...options.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(options.body),
        'user-agent': options.userAgent ?? 'flopwatch-notifier',
      },
    });
    req.on('error', (err) => reject(signal.aborted ? signal.reason : err));
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, limit).toString('utf8'), retryAfter: header(res, 'retry-after') });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= limit) finish();
      });
      res.on('end', finish);
      res.on('error', (err) => reject(signal.aborted ? signal.reason : err));
    });
    req.end(options.body);
  });
}

function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

// 4xx answers that say "later", not "never": timeout, too early, too many requests.
const TRANSIENT_4XX = new Set([408, 425, 429]);

/**
 * Why a failed attempt must not be retried — the URL policy refused the address (or the URL), or the
 * receiver answered a 4xx that no retry changes — or null when another attempt may succeed.
 */
export function permanentFailure(result: SendResult): 'url_policy' | 'http_rejected' | null {
  if (result.ok) return null;
  if (result.error) return result.error.retryable ? null : 'url_policy';
  if (result.status !== null && result.status >= 400 && result.status < 500 && !TRANSIENT_4XX.has(result.status)) return 'http_rejected';
  return null;
}
