import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './api';

/** Retries only what may succeed on its own (network, timeout, 5xx); never 4xx or an expired session. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (failureCount >= 2) return false;
  if (!(error instanceof ApiError)) return false;
  if (error.kind === 'network' || error.kind === 'timeout' || error.kind === 'offline') return true;
  return error.kind === 'problem' && (error.status >= 500 || error.status === 429) && error.status !== 501;
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: shouldRetry, staleTime: 15_000, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  });
}
