import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long a peer may go on sending a body that was already answered (refused) before its socket is closed. */
export const LINGER_AFTER_ANSWER_MS = 5_000;

/**
 * A request answered (refused: 413 while streaming, a malformed form, a quota, a failed guard) before its body was
 * complete: whatever consumed the body is cut off, the rest is read and dropped, and the socket is closed
 * LINGER_AFTER_ANSWER_MS after the answer unless the peer finishes its body first (then the connection stays
 * usable, nothing is left unread on it). Returns false when the rest cannot be read (the request was destroyed):
 * the caller must then answer with `Connection: close`.
 *
 * Why not `Connection: close`: Node closes such a socket as soon as the answer is written, with the peer's
 * bytes still arriving, and a close with unread bytes is a TCP reset. A peer that is still writing (the gateway
 * relaying an upload, nginx on the one-hop routes, a client) can see that reset before it reads the answer — its
 * write fails, its socket is torn down, and the refusal becomes "upstream unavailable" (a 503 at the gateway under
 * load in CI). Why not leave the body unread: nobody reads the socket again, its receive window stays full, the
 * peer's FIN waits behind its unsent bytes, and the connection stays open until Node's requestTimeout (5 min) —
 * one per refused upload, and graceful shutdown waits on them. The linger is the lingering close nginx does:
 * time for the peer to read the answer and stop sending, bounded.
 */
export function lingerAfterAnswer(req: IncomingMessage, res: ServerResponse, ms = LINGER_AFTER_ANSWER_MS): boolean {
  if (req.complete) return true;
  // Destroyed (stream.pipeline does that to a server request it reads when a later stage fails, and detaches its
  // socket): its rest can no longer be read — Node stops reading the socket for good, and a connection kept alive
  // would hang the next request sent on it. The caller closes the connection with its answer instead.
  if (req.destroyed || !req.socket) return false;
  req.unpipe();
  req.resume();
  const socket = req.socket;
  const arm = () => {
    if (socket.destroyed) return;
    // the socket, not the request: a request reports 'close' as soon as its answer is finished
    const timer = setTimeout(() => {
      if (!req.complete) socket.destroy();
    }, ms);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
  if (res.writableFinished) arm();
  else res.once('finish', arm);
  return true;
}
