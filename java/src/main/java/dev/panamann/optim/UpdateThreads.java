package dev.panamann.optim;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Denormals;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The threads that run the optimizers' update loops: the calling thread plus {@code threads - 1}
 * daemon workers, started once and reused by every step (a step allocates nothing and starts no
 * thread). The default count is the backend's thread setting ({@code panamann.threads} /
 * {@code PANAMANN_THREADS}, else the number of cores); {@link #setThreads} changes it.
 *
 * <p>The workers and the calling thread flush subnormal floats to zero ({@link Denormals}, on by
 * default), as the backends' threads do.
 *
 * <p>An idle worker is parked (it does not spin between steps), so the update threads do not
 * compete with the native libraries' threads for the cores while forward and backward run.
 */
public final class UpdateThreads {
    /** Spin this long for the workers before parking the caller (a step's parts take ~0.1 ms). */
    private static final long CALLER_SPIN_NS = 50_000;

    private static UpdateThreads shared;

    /** One part of a split update; {@code part} in [0, parts). */
    interface Task {
        void run(int part, int parts, Scratch scratch);
    }

    /** Per-part heap arrays that the update rules work on (one chunk at a time). */
    static final class Scratch {
        static final int CHUNK = 1024;
        final float[] w = new float[CHUNK], dw = new float[CHUNK];
        final float[][] state = {new float[CHUNK], new float[CHUNK]};
    }

    private final int parts;
    private final Thread[] workers;
    private final Scratch[] scratch;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile Task task;
    private volatile int generation;
    private volatile Thread caller;
    private volatile Throwable failure;
    private volatile boolean stopped;

    private UpdateThreads(int parts) {
        this.parts = parts;
        this.scratch = new Scratch[parts];
        for (int i = 0; i < parts; i++) scratch[i] = new Scratch();
        this.workers = new Thread[parts - 1];
        for (int i = 1; i < parts; i++) {
            int part = i;
            Thread t = new Thread(() -> {
                Denormals.applyToCurrentThread(); // like every thread that computes on model data
                work(part);
            }, "panama-nn-update-" + part);
            t.setDaemon(true);
            workers[i - 1] = t;
        }
        for (Thread t : workers) t.start();
    }

    /** The number of threads an optimizer step is split over. */
    public static synchronized int threads() {
        return shared().parts;
    }

    /**
     * Sets the number of threads the optimizers' steps are split over (the calling thread
     * counts as one; 1 runs every update on the calling thread). Steps running meanwhile finish
     * on the old threads.
     *
     * @param threads &gt;= 1
     */
    public static synchronized void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("update threads must be >= 1, got " + threads);
        if (shared != null && shared.parts == threads) return;
        UpdateThreads old = shared;
        shared = new UpdateThreads(threads);
        if (old != null) old.stop();
    }

    static synchronized UpdateThreads shared() {
        if (shared == null) shared = new UpdateThreads(Backends.defaultThreads());
        return shared;
    }

    int parts() { return parts; }

    /** Whether the workers may read and write {@code s} (false for thread-confined memory). */
    boolean accessible(MemorySegment s) {
        for (Thread t : workers) if (!s.isAccessibleBy(t)) return false;
        return true;
    }

    /**
     * Runs {@code t.run(part, parts, ...)} for every part, part 0 on the calling thread, and
     * returns when all are done. A failure of any part is rethrown here after all finished.
     */
    synchronized void run(Task t) {
        if (stopped) throw new IllegalStateException("update threads were replaced");
        Denormals.applyToCurrentThread();
        failure = null;
        task = t;
        caller = Thread.currentThread();
        pending.set(parts - 1);
        generation++;
        for (Thread w : workers) LockSupport.unpark(w);
        Throwable own = null;
        try {
            t.run(0, parts, scratch[0]);
        } catch (Throwable e) {
            own = e;
        }
        long spinUntil = System.nanoTime() + CALLER_SPIN_NS;
        while (pending.get() != 0) {
            if (System.nanoTime() < spinUntil) Thread.onSpinWait();
            else LockSupport.parkNanos(this, 200_000);
        }
        task = null;
        Throwable f = own != null ? own : failure;
        if (f instanceof RuntimeException r) throw r;
        if (f instanceof Error e) throw e;
        if (f != null) throw new IllegalStateException("optimizer update failed", f);
    }

    private void work(int part) {
        int seen = 0;
        while (!stopped) {
            int g = generation;
            if (g == seen) {
                LockSupport.park(this);
                continue;
            }
            seen = g;
            Task t = task;
            try {
                if (t != null) t.run(part, parts, scratch[part]);
            } catch (Throwable e) {
                failure = e;
            }
            if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
        }
    }

    private synchronized void stop() {
        stopped = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
