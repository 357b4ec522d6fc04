/** Starts the real API (buildServer + listen on an ephemeral port) over a test env's container. */
import { freePort } from '../../scripts/lib/free-port';
import type { FastifyInstance } from 'fastify';
import { request, type FormData } from 'undici';
import type { Container } from '../../src/container';
import type { ApiOptions, ApiServices } from '../../src/api/deps';
import { buildServer } from '../../src/api/server';
import type { SmsProvider } from '../../src/provider/sms-provider';

export const TEST_API_TOKEN = 'test-api-token-0123456789abcdef';
export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-0123456789';

export interface RunningApi {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startApi(
  container: Container,
  services: ApiServices,
  options: ApiOptions = {},
  provider?: SmsProvider,
): Promise<RunningApi> {
  const app = await buildServer({ container, services, options, ...(provider ? { provider } : {}) });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, close: () => app.close() };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** Thin undici wrapper: JSON bodies, optional bearer token, always reads the body. */
export async function http(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  opts: { token?: string | null; json?: unknown; body?: string | Buffer | FormData; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const token = opts.token === undefined ? TEST_API_TOKEN : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | Buffer | FormData | undefined = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await request(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: <T>() => JSON.parse(text) as T,
  };
}

/** A TCP port with nothing listening on it (bound, then released). */
export const closedPort = freePort;
