import { describe, expect, it } from 'vitest';
import { lockOrder } from '../../src/services/apply-event.service.js';
import type { NormalizedEvent } from '../../src/domain/events.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

function deposit(provider: string, dedupeKey: string, depositId: string) {
  const event = {
    kind: 'deposit',
    ref: { by: 'id', depositId },
    status: 'DETECTED',
    providerStatus: 'detected',
  } as unknown as NormalizedEvent;
  return { provider, dedupeKey, event };
}

function other(provider: string, dedupeKey: string) {
  return { provider, dedupeKey, event: { kind: 'unsupported' } as unknown as NormalizedEvent };
}

describe('lockOrder', () => {
  it('puts deposit events first, by deposit, then by inbox key', () => {
    const events = [
      other('layer1', 'm-1'),
      deposit('layer1', 'z', B),
      deposit('layer1', 'b', A),
      deposit('layer1', 'a', A),
    ];
    expect(lockOrder(events)).toEqual([3, 2, 1, 0]);
  });

  it('gives two transactions holding the same events in another arrival order the same order', () => {
    const events = [
      deposit('layer1', 'x', B),
      other('sandbox', 'k2'),
      deposit('sandbox', 'y', A),
      other('sandbox', 'k1'),
    ];
    const reversed = [...events].reverse();
    const first = lockOrder(events).map((i) => events[i]);
    const second = lockOrder(reversed).map((i) => reversed[i]);
    expect(second).toEqual(first);
    expect(first.map((e) => e.dedupeKey)).toEqual(['x', 'y', 'k1', 'k2']);
  });

  it('keeps a deposit reference that is not a UUID with the events that lock nothing', () => {
    const events = [deposit('layer1', 'n', 'not-a-uuid'), deposit('layer1', 'm', A)];
    expect(lockOrder(events)).toEqual([1, 0]);
  });
});
