/** What every command gets: a lazily built container (so `--help` and usage errors need no services). */
import { createContainer, type Container } from '../container';
import { loadConfig, loadDotEnv } from '../config';
import { reportError, type OutputOptions } from './output';
import { logOutputClosed } from './stdout-pipe';

export type Action<A extends unknown[]> = (...args: A) => Promise<number | void>;

/**
 * Wraps a command action: builds the container on demand, always closes it, maps errors to exit codes
 * 0 (success) / 1 (runtime failure) / 2 (bad usage or input).
 */
export function withContainer<A extends unknown[]>(
  fn: (c: Container, ...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = findOptions(args);
    let container: Container | undefined;
    let code: number;
    try {
      loadDotEnv();
      container = createContainer({ config: loadConfig(), onLogOutputClosed: logOutputClosed });
      code = (await fn(container, ...args)) ?? 0;
    } catch (err) {
      code = reportError(err, opts);
    }
    if (container) await container.close().catch(() => undefined);
    process.exitCode = code;
  };
}

/** Same error handling for commands that need no container (simulator, demo orchestration). */
export function withErrors<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      loadDotEnv();
      process.exitCode = (await fn(...args)) ?? 0;
    } catch (err) {
      process.exitCode = reportError(err, findOptions(args));
    }
  };
}

/** commander passes (args..., options, command); the options object is the second-to-last argument. */
function findOptions(args: unknown[]): OutputOptions {
  const candidate = args.length >= 2 ? args[args.length - 2] : undefined;
  return candidate && typeof candidate === 'object' ? (candidate as OutputOptions) : {};
}
