// Raw gRPC-over-HTTP/2 requests for the devserver suites that must send what no gRPC client sends: any frame bytes,
// compression flag, header or reset.
import * as http2 from 'node:http2';

export interface RawAnswer {
  httpStatus: number;
  /** grpc-status, from the trailers or (trailers-only answers) the headers. */
  status: number;
  message: string;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | undefined;
  body: Buffer;
}

/** A gRPC length-prefixed frame. */
export function frame(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** One raw request on `session`: the given body bytes, then end of stream; resolves when the stream closes. */
export function rawRequest(session: http2.ClientHttp2Session, path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (responseHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('close', () => {
      const src = trailers ?? responseHeaders;
      resolve({
        httpStatus: Number(responseHeaders[':status']),
        status: Number(src['grpc-status'] ?? NaN),
        message: decodeURIComponent(String(src['grpc-message'] ?? '')),
        headers: responseHeaders,
        trailers,
        body: Buffer.concat(chunks),
      });
    });
    req.end(body);
  });
}
