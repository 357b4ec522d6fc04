/** The production provider: the 2Factor client from the configuration, its pool sized to the send concurrency. */
import type { Container } from '../container';
import { createTwoFactorProviderFromConfig } from '../provider/twofactor/client';
import type { SmsProvider } from '../provider/sms-provider';

export function createDefaultProvider(container: Pick<Container, 'config' | 'logger'>, connections: number): SmsProvider {
  return createTwoFactorProviderFromConfig(container, { connections });
}
