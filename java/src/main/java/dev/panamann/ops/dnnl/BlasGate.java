package dev.panamann.ops.dnnl;

import dev.panamann.bindings.openblas.openblas_h;

/**
 * Keeps OpenBLAS's one process-wide thread count right for every product of two or more
 * threads. OpenBLAS (0.3.21, built with OpenMP) keeps that count in a global, set by {@code
 * openblas_set_num_threads} and by a product itself when the caller's OpenMP count differs from
 * it, and on every change frees the work buffers of the threads beyond the new count, buffers a
 * product running on another thread with a larger count may be using at that moment: two
 * backends of 2 and 4 threads multiplying at the same time on two threads got a wrong product at
 * the first call. So products of one count run together, and a product of another count waits
 * until they are done, sets the count and runs (callers already waiting go before new arrivals,
 * so neither count starves). Products of one thread pass without the gate: OpenBLAS runs a
 * caller whose OpenMP count is 1 on that thread alone, without its thread buffers and without
 * touching the global count.
 */
final class BlasGate {
    private static final Object LOCK = new Object();
    /** The count OpenBLAS has, as last set here (0: not set yet). */
    private static int count;
    /** Products of {@link #count} threads running now. */
    private static int running;
    /** Callers waiting to enter. */
    private static int waiting;

    private BlasGate() {}

    /**
     * Before an OpenBLAS product on {@code threads} threads (at least 2), on the calling thread:
     * waits while products of another count run, then makes {@code threads} OpenBLAS's count.
     * Every enter is followed by one {@link #exit}.
     */
    static void enter(int threads) {
        boolean interrupted = false;
        synchronized (LOCK) {
            if (!(running == 0 || (count == threads && waiting == 0))) {
                waiting++;
                try {
                    do {
                        try {
                            LOCK.wait();
                        } catch (InterruptedException e) {
                            interrupted = true; // products take milliseconds: finish the wait, keep the flag
                        }
                    } while (!(running == 0 || count == threads));
                } finally {
                    waiting--;
                }
            }
            if (count != threads) {
                openblas_h.openblas_set_num_threads(threads); // with nothing running: no buffer in use is freed
                count = threads;
            }
            running++;
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** After the product of an {@link #enter}. */
    static void exit() {
        synchronized (LOCK) {
            if (--running == 0 && waiting > 0) LOCK.notifyAll();
        }
    }
}
