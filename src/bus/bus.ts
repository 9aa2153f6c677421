/**
 * The typed in-process bus: one topic per domain event kind (`core/events.ts` {@link DomainEvents}).
 *
 * Synchronous subscribers (`on`) run on the hot path, in publish order, and must not block: the book engine, the
 * consolidator and the WebSocket fan-out are such subscribers. Asynchronous consumers (sinks, remote servers) take a
 * bounded {@link EventQueue} each (`queue`), fed synchronously here and drained at their own pace, with a declared
 * overflow policy per topic. A throwing synchronous handler is isolated: counted and reported, others still run.
 *
 * Handler lists are copy-on-write: a handler added or removed while an event is being published (a consumer closing
 * its queue from inside a handler, a one-shot handler removing itself) changes who gets the *next* event; every
 * handler registered when `publish` started still gets the current one.
 */
import type { DomainEvents, Topic } from '../core/events.ts';
import { EventQueue, type EventQueueOptions } from './queue.ts';

type Handler<T> = (ev: T) => void;

/** Synchronous typed pub/sub with bounded asynchronous queues. */
export class Bus {
  private readonly handlers: { [K in Topic]?: Handler<DomainEvents[K]>[] } = {};
  private readonly queues = new Set<EventQueue>();
  /** Handler exceptions caught so far. */
  handlerErrors = 0;
  /** Called with each handler exception (wired to the logger by the composition root). */
  onHandlerError: (topic: string, err: unknown) => void = () => {};

  /** Subscribes a synchronous handler; returns the unsubscribe function (idempotent). */
  on<K extends Topic>(topic: K, h: Handler<DomainEvents[K]>): () => void {
    const handlers = this.handlers as Partial<Record<Topic, Handler<never>[]>>;
    const hh: Handler<never> = h;
    handlers[topic] = [...(handlers[topic] ?? []), hh];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list: Handler<never>[] = handlers[topic] ?? [];
      const i = list.indexOf(hh);
      if (i >= 0) handlers[topic] = [...list.slice(0, i), ...list.slice(i + 1)];
    };
  }

  /**
   * Attaches an asynchronous consumer: a bounded queue fed with every event of `topics` in publish order.
   * `queue.close()` (or {@link Bus.detach}) stops feeding it.
   */
  queue(topics: readonly Topic[], opts: EventQueueOptions): EventQueue {
    const q = new EventQueue(opts);
    const offs = topics.map((t) => this.on(t, (ev) => q.push(ev)));
    const close = q.close.bind(q);
    q.close = () => {
      for (const off of offs) off();
      this.queues.delete(q);
      close();
    };
    this.queues.add(q);
    return q;
  }

  /** Queues attached right now (metrics: depth, drops). */
  attachedQueues(): readonly EventQueue[] {
    return [...this.queues];
  }

  /** Stops feeding `q` (same as `q.close()`). */
  detach(q: EventQueue): void {
    q.close();
  }

  /** Publishes one event to every subscriber of its topic, synchronously. */
  publish<K extends Topic>(topic: K, ev: DomainEvents[K]): void {
    const list = this.handlers[topic] as Handler<DomainEvents[K]>[] | undefined;
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i](ev);
      } catch (err) {
        this.handlerErrors++;
        this.onHandlerError(topic, err);
      }
    }
  }

  /** True if anyone listens on `topic` (lets producers skip building events). */
  has(topic: Topic): boolean {
    const l = this.handlers[topic];
    return l !== undefined && l.length > 0;
  }
}
