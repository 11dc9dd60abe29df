import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { WsConnection } from './context.js';

/**
 * Replies corked at most before they are flushed: the client starts on the first ones while the
 * server produces the rest (both cores busy), at the cost of one more write per 16 replies.
 * Large replies are flushed sooner, so that each write's completion says the peer is reading.
 */
const CORK_MAX_FRAMES = 16;
const CORK_MAX_BYTES = 64 * 1024;
/**
 * Frames handled per TCP read (and per turn of the event loop) before the rest wait for the next
 * turn: in between, the replies written so far count, so a peer that stopped reading cannot have
 * the thousands of small requests it packed into one TCP read all answered into its queue before
 * reading pauses.
 */
const BURST = 64;
/** Bytes of frames waiting for their turn past which the connection is not read. */
const INBOX_MAX_BYTES = 64 * 1024;

export interface FlowLimits {
  maxBufferedBytes: number;
  slowReaderTimeout: number;
}

type ReceiverState = { _bufferedBytes?: number; _fragmented?: number };
type Frame = [data: RawData, isBinary: boolean];

/**
 * One accepted connection and its outbound flow: a lone reply is written at once, replies with
 * company in one turn of the event loop go out in one TCP write; reading pauses while too much is unsent; progress is timed so that
 * only a peer that stopped reading is called a slow reader.
 */
export class PeerConnection implements WsConnection {
  readonly id = randomUUID();
  alive = true;
  /** The close code the server chose, reported even when the socket had to be terminated. */
  closeCode?: number;
  /** Complete frames received (messages, pings, pongs): the mid-frame stall check watches it move. */
  framesIn = 0;
  private partialSince = 0;
  private partialMark = 0;
  /** Reading stopped because too many reply bytes are unsent. */
  private paused = false;
  /** Reading stopped because too many received frames wait for their turn. */
  private inboxFull = false;
  private readonly inbox: Frame[] = [];
  private inboxBytes = 0;
  /** Frames handled since the last TCP read or turn end. */
  private burst = 0;
  /** The end-of-turn callback is scheduled: one per connection and turn, not one per frame. */
  private turnScheduled = false;
  /** Requests of this peer being handled: while another is, its reply may join this one's write. */
  private requests = 0;
  /** When unsent replies last moved (a write completed, or the queue was empty when one was added). */
  private lastProgress = Date.now();
  /** Bytes of the write in progress the kernel had not taken at the last look (see tookBytes). */
  private lastUnwritten = -1;
  private corked = false;
  private corkedFrames = 0;
  private corkedBytes = 0;

  constructor(
    readonly socket: WebSocket,
    readonly request: IncomingMessage,
    readonly auth: unknown,
    private readonly raw: Duplex,
    private readonly limits: FlowLimits,
    private readonly onSlowReader: (conn: PeerConnection, queued: number) => void,
    private readonly onFrame: (conn: PeerConnection, data: RawData, isBinary: boolean) => void,
  ) {
    // Each TCP read starts a new burst: the frames ws parses from it are handled in this read's
    // callback, and the replies to the previous read's were written (and counted) before it.
    // Without a timer per request, a lone request costs no extra turn of the event loop.
    raw.prependListener('data', this.newRead);
  }

  /** A frame from `ws`: handled now, or queued behind earlier ones while reading is held back. */
  receive(data: RawData, isBinary: boolean): void {
    this.framesIn++;
    if (this.inbox.length === 0 && !this.paused && this.burst < BURST) {
      this.burst++;
      this.onFrame(this, data, isBinary);
      return;
    }
    this.inbox.push([data, isBinary]);
    this.inboxBytes += (data as Buffer).length ?? 0;
    this.endTurnLater();
    if (this.inboxBytes > INBOX_MAX_BYTES && !this.inboxFull) {
      this.inboxFull = true;
      this.socket.pause();
    }
  }

  /** A request of this peer started; its last reply goes through `send(…, true)`. */
  requestStarted(): void {
    this.requests++;
  }

  /** Bytes written and not yet taken by the kernel (ws queue, socket buffer, corked frames). */
  get queued(): number {
    return this.socket.bufferedAmount;
  }

  /**
   * Writes a frame. A lone reply (no other request of this peer running, no frame waiting) is
   * written at once; replies that have company are corked until the end of this turn of the event
   * loop (or 16 of them), so that they leave in one TCP write, each still its own WebSocket frame.
   */
  send(frame: string | Buffer, binary: boolean, last = false): void {
    const { socket } = this;
    if (last) this.requests--;
    if (socket.bufferedAmount === 0) this.lastProgress = Date.now();
    const more = this.requests > 0 || this.inbox.length > 0;
    if (more && !this.corked) {
      this.corked = true;
      this.raw.cork();
      this.endTurnLater();
    }
    socket.send(frame, { binary }, this.afterWrite);
    if (this.corked) {
      this.corkedBytes += frame.length;
      if (!more) {
        this.uncork(); // nothing more is coming: what is corked leaves now
      } else if (++this.corkedFrames >= CORK_MAX_FRAMES || this.corkedBytes >= CORK_MAX_BYTES) {
        this.uncork();
        this.corked = true;
        this.raw.cork();
      }
    }
    const queued = socket.bufferedAmount;
    if (queued > this.limits.maxBufferedBytes / 2) this.overHighWater();
  }

  /**
   * Drops the peer when its unsent replies are over the limit and none moved for
   * `slowReaderTimeout`. Called only from the server's periodic sweep, which knows whether its own
   * event loop was blocked: a server busy producing replies for seconds reads nothing meanwhile,
   * and a peer must not be judged on time in which its reading could not be seen.
   */
  checkSlowReader(now = Date.now()): boolean {
    const queued = this.queued;
    if (queued <= this.limits.maxBufferedBytes) return false;
    if (this.tookBytes()) this.lastProgress = now;
    if (now - this.lastProgress <= this.limits.slowReaderTimeout) return false;
    this.onSlowReader(this, queued);
    return true;
  }

  /**
   * True when the kernel took part of the write in progress since the last look. A peer that reads
   * slowly (a busy machine) may need seconds to take one large reply: it is reading, and only a
   * peer that took nothing is a slow reader. libuv's count of the bytes left is what Node's own
   * socket timeout watches for the same question; without it (TLS) only completed writes count.
   */
  private tookBytes(): boolean {
    const unwritten = (this.raw as { _handle?: { writeQueueSize?: number } })._handle?.writeQueueSize;
    if (typeof unwritten !== 'number') return false;
    const took = this.lastUnwritten >= 0 && unwritten < this.lastUnwritten;
    this.lastUnwritten = unwritten;
    return took;
  }

  /**
   * True when the peer started a frame (or a fragmented message) and has not finished it for
   * `frameTimeout`. Reads `ws`'s receiver state; without it (another `ws` major) it never fires
   * and the heartbeat bounds such peers instead.
   */
  stalledMidFrame(now: number, frameTimeout: number): boolean {
    const receiver = (this.socket as unknown as { _receiver?: ReceiverState })._receiver;
    const midFrame = !this.paused && !this.inboxFull && receiver !== undefined && ((receiver._bufferedBytes ?? 0) > 0 || (receiver._fragmented ?? 0) !== 0);
    if (!midFrame) {
      this.partialSince = 0;
      return false;
    }
    if (this.partialSince === 0 || this.partialMark !== this.framesIn) {
      // A frame started since the last look (or the previous one finished and another began).
      this.partialSince = now;
      this.partialMark = this.framesIn;
      return false;
    }
    return now - this.partialSince > frameTimeout;
  }

  /** Forgets the timing marks after the event loop was blocked: no peer is judged on the server's own stall. */
  resetClocks(now: number): void {
    this.lastProgress = now;
    if (this.partialSince) this.partialSince = now;
  }

  private readonly newRead = (): void => {
    this.burst = 0;
  };

  private endTurnLater(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.endTurn);
  }

  /** End of a turn with corked replies or waiting frames: the replies go out, the next frames run. */
  private readonly endTurn = (): void => {
    this.turnScheduled = false;
    if (this.corked) this.uncork();
    this.burst = 0;
    this.drainInbox();
  };

  private drainInbox(): void {
    while (this.inbox.length > 0 && !this.paused && this.burst < BURST) {
      const [data, isBinary] = this.inbox.shift()!;
      this.inboxBytes -= (data as Buffer).length ?? 0;
      this.burst++;
      this.onFrame(this, data, isBinary);
    }
    if (this.inbox.length > 0 && !this.paused) this.endTurnLater();
    if (this.inboxFull && this.inboxBytes <= INBOX_MAX_BYTES / 2) {
      this.inboxFull = false;
      if (!this.paused) this.socket.resume();
    }
  }

  private overHighWater(): void {
    if (!this.paused) {
      // Requests already read keep running and their replies are sent; no new ones are read.
      this.paused = true;
      this.socket.pause();
    }
  }

  private readonly afterWrite = (): void => {
    this.lastProgress = Date.now();
    if (this.paused && this.socket.bufferedAmount < this.limits.maxBufferedBytes / 4) {
      this.paused = false;
      if (!this.inboxFull) this.socket.resume();
      this.drainInbox();
    }
  };

  private uncork(): void {
    this.corked = false;
    this.corkedFrames = 0;
    this.corkedBytes = 0;
    this.raw.uncork();
  }
}
