/**
 * Errors the server answers with: a gRPC status code plus a message, and optionally a `google.rpc.Status` detail
 * (the SDK reads some of them, such as NamespaceNotFoundFailure). Handlers throw these; the gRPC layer converts.
 */
import { Metadata, status as Status } from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { google, root } from './proto';

export { Status };

export class ServerError extends Error {
  constructor(
    readonly code: Status,
    message: string,
    readonly detail?: { typeName: string; value: Record<string, unknown> },
  ) {
    super(message);
  }

  /** grpc-js ServiceError shape, with the detail in `grpc-status-details-bin` as the real server sends it. */
  toServiceError(): { code: Status; details: string; metadata: Metadata } {
    const metadata = new Metadata();
    if (this.detail) {
      const type = root.lookupType(this.detail.typeName) as protobuf.Type;
      const status = google.rpc.Status.encode({
        code: this.code,
        message: this.message,
        details: [
          {
            type_url: `type.googleapis.com/${this.detail.typeName}`,
            value: type.encode(type.fromObject(this.detail.value)).finish(),
          },
        ],
      }).finish();
      metadata.set('grpc-status-details-bin', Buffer.from(status));
    }
    return { code: this.code, details: this.message, metadata };
  }
}

export const invalidArgument = (message: string) => new ServerError(Status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new ServerError(Status.NOT_FOUND, message);
export const failedPrecondition = (message: string) => new ServerError(Status.FAILED_PRECONDITION, message);

/** A required field is missing or empty: the message names it, as the real server's validators do. */
export function requireField<T>(value: T | null | undefined | '', field: string): T {
  if (value === undefined || value === null || value === '') throw invalidArgument(`${field} is not set on request.`);
  return value as T;
}
