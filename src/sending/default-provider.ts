/**
 * The production provider (2Factor HTTP client) built from the configuration. Resolved at run time so the
 * sending engine does not depend on the client's module at compile time.
 */
import type { Container } from '../container';
import { ServiceError } from '../errors';
import type { SmsProvider } from '../provider/sms-provider';

type Factory = (opts: { baseUrl: string; apiKey: string; timeoutMs: number; connections: number; logger: Container['logger'] }) => SmsProvider;

export async function createDefaultProvider(container: Container, connections: number): Promise<SmsProvider> {
  const { config } = container;
  if (!config.TWOFACTOR_API_KEY) throw new ServiceError('TWOFACTOR_API_KEY is not set: the worker cannot send');
  const specifier = '../provider/twofactor/client';
  let factory: Factory | undefined;
  try {
    factory = ((await import(specifier)) as { createTwoFactorProvider?: Factory }).createTwoFactorProvider;
  } catch (err) {
    throw new ServiceError('the 2Factor provider client is not available in this build', { cause: err });
  }
  if (!factory) throw new ServiceError('the 2Factor provider client is not available in this build');
  return factory({
    baseUrl: config.TWOFACTOR_BASE_URL,
    apiKey: config.TWOFACTOR_API_KEY,
    timeoutMs: config.SMS_REQUEST_TIMEOUT_MS,
    connections,
    logger: container.logger,
  });
}
