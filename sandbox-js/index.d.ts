// TypeScript declarations for isogate's frontend API: window.isogate, which
// the core's bridge installs as the first script of every page it serves.

/** A rejected call. `code` is one of the documented codes. */
export interface IsogateError extends Error {
  name: 'IsogateError';
  code: IsogateErrorCode;
}

export type IsogateErrorCode =
  | 'denied'
  | 'invalid_args'
  | 'unknown_command'
  | 'hook_rejected'
  | 'too_large'
  | 'rate_limited'
  | 'timeout'
  | 'handler_error'
  | 'unavailable';

/** Values that can be sent: JSON, with Uint8Array/ArrayBuffer leaves sent as raw bytes. */
export type IsogateValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | ArrayBuffer
  | IsogateValue[]
  | { [key: string]: IsogateValue };

/** What a listener receives. Binary values arrive as Uint8Array. */
export interface IsogateEvent<P = unknown> {
  event: string;
  payload: P;
}

export type UnlistenFn = () => void;

export interface Isogate {
  /** Resolves once the isolation iframe is connected to the core. */
  readonly ready: Promise<void>;
  /** Calls a command; rejects with an IsogateError. */
  invoke<R = unknown>(cmd: string, args?: IsogateValue): Promise<R>;
  /** Sends a frontend event to the core's subscribers (schema and policy apply). */
  emit(event: string, payload?: IsogateValue): Promise<void>;
  /** Listens to an event from the core; the policy must allow the listen. */
  listen<P = unknown>(event: string, handler: (e: IsogateEvent<P>) => void): Promise<UnlistenFn>;
  /** Like listen, for the next event only. */
  once<P = unknown>(event: string, handler: (e: IsogateEvent<P>) => void): Promise<UnlistenFn>;
}

declare global {
  interface Window {
    readonly isogate: Isogate;
  }
  const isogate: Isogate;
}
