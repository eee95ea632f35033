package dev.panamann.ops.dnnl;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The native calls in flight on one native object (a {@link NativeOps} backend or a
 * {@link Dnnl.Plan}): every call that touches the object's native state is bracketed by
 * {@link #enter} and {@link #exit}, and {@link #close} first refuses new calls, then waits
 * for the running ones to finish. So closing an object while another thread runs an op on it
 * never frees memory under a native call: the running call either completes or, when it
 * reaches its next native step after the close, fails with {@link IllegalStateException}.
 * Allocation-free; an uncontended enter/exit is two atomic adds.
 */
final class UseCount {
    private static final int CLOSED = 1 << 30;
    private final AtomicInteger state = new AtomicInteger();

    /** Counts a call in; throws {@link IllegalStateException} "{@code what} is closed" once closing began. */
    void enter(String what) {
        if (state.incrementAndGet() >= CLOSED) {
            state.decrementAndGet();
            throw new IllegalStateException(what + " is closed");
        }
    }

    /** Counts a call out; pairs with a successful {@link #enter}. */
    void exit() {
        state.decrementAndGet();
    }

    /** True once {@link #close} began. */
    boolean isClosed() {
        return state.get() >= CLOSED;
    }

    /**
     * Refuses new calls and waits until the calls in flight have exited.
     *
     * @return true for the first close, false when the object was already closed
     */
    boolean close() {
        int s;
        do {
            s = state.get();
            if (s >= CLOSED) return false;
        } while (!state.compareAndSet(s, s + CLOSED));
        while (state.get() != CLOSED) LockSupport.parkNanos(20_000);
        return true;
    }
}
