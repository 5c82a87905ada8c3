import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContextData {
  request_id: string;
}

/** Carries the request id through async work so every log line of a request can name it. */
export const requestContext = new AsyncLocalStorage<RequestContextData>();

export function currentRequestId(): string | null {
  return requestContext.getStore()?.request_id ?? null;
}
