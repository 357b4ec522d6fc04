/**
 * Two-stage shutdown: the first SIGTERM/SIGINT starts a graceful close with a deadline; a second signal
 * or the deadline forces exit.
 */
import type { Logger } from '../logger';

export interface Shutdown {
  /** Stops listening for the signals (the close is not started). */
  uninstall(): void;
  /** Starts the graceful close as the first signal would, for another reason (a worker whose log pipe closed). */
  begin(reason: string): void;
}

export function installShutdown(close: () => Promise<void>, logger: Logger, graceMs = 30_000): Shutdown {
  let closing = false;
  const begin = (reason: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ reason, graceMs }, 'shutting down gracefully');
    const timer = setTimeout(() => {
      logger.error({ graceMs }, 'graceful shutdown timed out: exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    begin(signal);
  };
  return { uninstall: onTerminationSignals(onSignal), begin };
}

/** Calls `handler` on SIGTERM and SIGINT (instead of the default exit) until the returned function is called. */
export function onTerminationSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
