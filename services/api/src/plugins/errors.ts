import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AuditContentionError, ChangeUnconfirmedError } from '@flopwatch/store';
import { ApiError, type ApiErrorCode } from '../errors.js';

/** The body of every error the API answers. */
export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details: Record<string, unknown> | null };
}

// Fastify's own 4xx errors, by code.
const FASTIFY_CODES: Record<string, { status: number; code: ApiErrorCode; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'body: is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'body: is empty but the content type is JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'body: is larger than the body limit' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'VALIDATION_FAILED', message: 'content-length: does not match the body' },
  FST_ERR_HANDLER_TIMEOUT: { status: 503, code: 'TIMEOUT', message: 'the request took too long; try again' },
  // Raised by the router before any route runs; they reach `frameworkErrors`, not the error handler.
  FST_ERR_BAD_URL: { status: 400, code: 'VALIDATION_FAILED', message: 'url: is not a valid URL (a malformed %-escape)' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'VALIDATION_FAILED', message: 'url: a path parameter is longer than 256 characters' },
};

function toBody(err: FastifyError | Error): { status: number; body: ErrorBody } {
  if (err instanceof ApiError) {
    return { status: err.statusCode, body: { error: { code: err.code, message: err.message, details: err.details ?? null } } };
  }
  if (err instanceof ChangeUnconfirmedError) {
    // Something may have been written: never "nothing was written". Its intent names it in verify.
    return { status: 503, body: { error: { code: 'UNAVAILABLE', message: err.message, details: { retryable: true, written: 'unknown', intent: err.intentId } } } };
  }
  if (err instanceof AuditContentionError) {
    // Nothing was written; the caller may retry at once.
    return { status: 503, body: { error: { code: 'UNAVAILABLE', message: err.message, details: { retryable: true } } } };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as FastifyError).validationContext ?? 'request';
    const issues = err.validation.map((v) => {
      const path = v.instancePath.split('/').filter((p: string) => p.length > 0);
      const keys = (v.params as { keys?: string[] }).keys;
      // An unknown field is reported at its parent; name the field itself.
      const fields = keys && keys.length > 0 ? keys.map((k) => [where, ...path, k].join('.')) : [[where, ...path].join('.')];
      return { fields, message: v.message };
    });
    const fields = issues.flatMap((i) => i.fields);
    const message = issues.map((i) => `${i.fields.join(', ')}: ${i.message}`).join('; ');
    return { status: 400, body: { error: { code: 'VALIDATION_FAILED', message, details: { fields, issues } } } };
  }
  const known = 'code' in err && typeof err.code === 'string' ? FASTIFY_CODES[err.code] : undefined;
  if (known) return { status: known.status, body: { error: { code: known.code, message: known.message ?? err.message, details: null } } };
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500 && !isResponseSerializationError(err)) {
    return { status, body: { error: { code: status === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED', message: err.message, details: null } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; the request id identifies it in the logs', details: null } } };
}

function sendError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const { status, body } = toBody(err);
  if (status >= 500) request.log.error({ err }, 'request failed');
  else request.log.info({ code: body.error.code, status, problem: body.error.message }, 'request rejected');
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/**
 * Fastify's `frameworkErrors` option: the errors its router raises before a route is chosen (a
 * malformed %-escape, a path parameter over `maxParamLength`) get the same envelope as every other.
 */
export const frameworkErrors = (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => void sendError(err, request, reply);

/** The one error handler and the 404 handler: every error is `{ error: { code, message, details } }`. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}`, details: null } };
    return reply.code(404).send(body);
  });
}
