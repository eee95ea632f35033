package dev.panamann.models;

import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A model's guard: one thread at a time inside its calls, and no call after close. A call made
 * while another thread is inside one gets an {@link IllegalStateException} naming both threads
 * instead of wrong numbers; {@link #enterClose} waits for a running call to finish.
 */
final class OneCaller {
    private final AtomicReference<Thread> user = new AtomicReference<>();
    private volatile boolean closed;

    /** Claims the model for the calling thread, or throws naming the thread that holds it or saying it is closed. */
    void enter(String model, String call) {
        Thread me = Thread.currentThread();
        if (!user.compareAndSet(null, me)) {
            Thread other = user.get();
            throw new IllegalStateException(model + "." + call + " on thread '" + me.getName() + "' while thread '"
                    + (other == null ? "?" : other.getName()) + "' is using the model: a model is used by one thread at a time "
                    + "(give each thread its own model)");
        }
        if (closed) {
            user.set(null);
            throw new IllegalStateException(model + "." + call + ": the model is closed");
        }
    }

    /** Ends the call {@link #enter} began. */
    void exit() { user.set(null); }

    /**
     * Waits until no call runs and claims the model for closing; false (and nothing claimed) when
     * it was closed before. The caller frees what it owns, then calls {@link #exit}.
     */
    boolean enterClose() {
        Thread me = Thread.currentThread();
        while (!user.compareAndSet(null, me)) {
            if (user.get() == me) break; // closed from inside a call on this thread
            LockSupport.parkNanos(50_000);
        }
        if (closed) {
            if (user.get() == me) user.set(null);
            return false;
        }
        closed = true;
        return true;
    }
}
