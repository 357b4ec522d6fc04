/** A TCP relay in front of the test PostgreSQL, for tests that must play a network fault between a client and it. */
import net from 'node:net';

export interface PgRelay {
  port: number;
  /** `databaseUrl` with its host and port replaced by the relay's. */
  url: string;
  close(): Promise<void>;
}

export interface PgRelayHooks {
  /** What a chunk from the client does (default: written to the server). */
  toServer?(chunk: Buffer, server: net.Socket): void;
  /** What a chunk from the server does (default: written to the client). */
  toClient?(chunk: Buffer, client: net.Socket): void;
}

export async function startPgRelay(databaseUrl: string, hooks: PgRelayHooks = {}): Promise<PgRelay> {
  const target = new URL(databaseUrl);
  const toServer = hooks.toServer ?? ((chunk, server) => void server.write(chunk));
  const toClient = hooks.toClient ?? ((chunk, client) => void client.write(chunk));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => toServer(chunk, upstream));
    upstream.on('data', (chunk: Buffer) => toClient(chunk, client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${port}`;
  return {
    port,
    url: url.toString(),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
