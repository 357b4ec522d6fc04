/**
 * A minimal path-style S3 look-alike over real HTTP (PutObject / GetObject / NoSuchKey), enough to run
 * the AWS SDK v3 code path of the archive without network access or MinIO. Signatures are not checked.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3Server {
  url: string;
  objects: Map<string, Buffer>;
  /** Each request with its headers (lower-case names), to check what an upload asked S3 for. */
  requests: S3Request[];
  /** Answer uploads asking for server-side encryption as MinIO without a KMS does (501 NotImplemented). */
  refuseEncryption: boolean;
  close(): Promise<void>;
}

export interface S3Request {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export async function startS3Server(): Promise<S3Server> {
  const objects = new Map<string, Buffer>();
  const requests: S3Request[] = [];
  const state = { refuseEncryption: false };
  const server = createServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    requests.push({ method: req.method ?? '', path: key, headers: { ...req.headers } });
    if (req.method === 'PUT') {
      if (state.refuseEncryption && req.headers['x-amz-server-side-encryption']) {
        res
          .writeHead(501, { 'content-type': 'application/xml' })
          .end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>Server side encryption specified but KMS is not configured</Message></Error>');
        return;
      }
      if (String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')) {
        res.writeHead(501).end('aws-chunked uploads not supported by this test server');
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        objects.set(key, Buffer.concat(chunks));
        res.writeHead(200, { etag: `"${objects.size}"` }).end();
      });
      return;
    }
    if (req.method === 'GET') {
      const body = objects.get(key);
      if (!body) {
        res
          .writeHead(404, { 'content-type': 'application/xml' })
          .end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
      return;
    }
    res.writeHead(405).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    requests,
    get refuseEncryption() {
      return state.refuseEncryption;
    },
    set refuseEncryption(on: boolean) {
      state.refuseEncryption = on;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
