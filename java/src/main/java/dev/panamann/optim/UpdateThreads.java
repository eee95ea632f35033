package dev.panamann.optim;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Denormals;
import dev.panamann.ops.dnnl.NativeOps;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The library's own worker threads: the calling thread plus {@code threads - 1} daemon workers,
 * started once and reused by every step (a step allocates nothing and starts no thread). The
 * optimizers' update loops and the L2 penalty are split over them, and the data-parallel replicas
 * of a model ({@code models.DataParallel}) run their forward and backward passes on them, so one
 * training step hands work to the same threads from start to end. The default count is the
 * backend's thread setting ({@code panamann.threads} / {@code PANAMANN_THREADS}, else the number
 * of cores); {@link #setThreads} changes it.
 *
 * <p>The workers and the calling thread flush subnormal floats to zero ({@link Denormals}, on by
 * default), as the backends' threads do.
 *
 * <p>A worker that finished its part spins for {@value #LINGER_NS} ns for the next one (the parts
 * of one training step follow each other closely, and waking a parked thread costs 0.1-0.5 ms on
 * a virtual machine), then parks: between steps the workers do not compete with the native
 * libraries' threads for the cores. A native call that starts an OpenMP region on several
 * threads ends the spin at once ({@link NativeOps#parallelCalls()}).
 */
public final class UpdateThreads {
    /** Spin this long for the workers before parking the caller (a step's parts take ~0.1 ms). */
    private static final long CALLER_SPIN_NS = 50_000;
    /** How long a worker spins for the next part before it parks. */
    static final long LINGER_NS = 200_000;
    /** The spin in effect: {@link #LINGER_NS}, changed only by tests. */
    private static volatile long lingerNs = LINGER_NS;

    private static UpdateThreads shared;

    /** One part of a split run; {@code part} in [0, parts), part 0 on the calling thread. */
    public interface Task {
        /**
         * @param part  this part, in [0, parts)
         * @param parts the number of parts, each on a thread of its own, all at the same time
         */
        void run(int part, int parts);
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
    private final ReentrantLock lock = new ReentrantLock();
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
            }, "panama-nn worker " + part);
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

    /** Sets how long a worker spins for its next part (tests); returns the value before. */
    static long setLingerNanos(long ns) {
        long before = lingerNs;
        lingerNs = ns;
        return before;
    }

    /** The scratch arrays of part {@code part} (each part's own while a run lasts). */
    Scratch scratch(int part) { return scratch[part]; }

    /**
     * Whether the calling thread may start a run: false on a thread that is running a part (a
     * run inside a run would wait for itself), which then does its work alone.
     */
    boolean available() {
        if (lock.isHeldByCurrentThread()) return false;
        Thread me = Thread.currentThread();
        for (Thread w : workers) if (w == me) return false;
        return true;
    }

    /**
     * Runs {@code t} over the shared threads when there are at least {@code minParts} of them and
     * no other thread is using them, and returns true once every part is done; returns false at
     * once, having run nothing, otherwise (also when called from inside a run). A failure of any
     * part is rethrown after all finished.
     *
     * @param minParts the number of parts {@code t} needs at least
     * @param t        the task; parts beyond the ones it needs should return at once
     */
    public static boolean tryRun(int minParts, Task t) {
        UpdateThreads pool = shared();
        if (pool.parts < minParts || !pool.available() || !pool.lock.tryLock()) return false;
        try {
            if (pool.stopped) return false; // replaced meanwhile
            pool.runLocked(t);
        } finally {
            pool.lock.unlock();
        }
        return true;
    }

    /**
     * Whether the shared workers may read and write {@code s}: false for memory confined to one
     * thread, which a {@link #tryRun} task must then leave alone.
     */
    public static boolean reachable(MemorySegment s) {
        return shared().accessible(s);
    }

    /** Whether the workers may read and write {@code s} (false for thread-confined memory). */
    boolean accessible(MemorySegment s) {
        for (Thread t : workers) if (!s.isAccessibleBy(t)) return false;
        return true;
    }

    /**
     * Runs {@code t.run(part, parts)} for every part, part 0 on the calling thread, and returns
     * when all are done (waiting while another thread uses the workers). A failure of any part
     * is rethrown here after all finished. Not from inside a run ({@link #available()}).
     */
    void run(Task t) {
        lock.lock();
        try {
            runLocked(t);
        } finally {
            lock.unlock();
        }
    }

    private void runLocked(Task t) {
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
            t.run(0, parts);
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
        if (f != null) throw new IllegalStateException("a part of a split run failed", f);
    }

    private void work(int part) {
        int seen = 0;
        long lingerUntil = 0;
        int regions = 0;
        while (!stopped) {
            int g = generation;
            if (g == seen) {
                // spin for the next part, unless native code started an OpenMP region on
                // several threads meanwhile: its thread needs this core now
                if (System.nanoTime() < lingerUntil && NativeOps.parallelCalls() == regions) Thread.onSpinWait();
                else LockSupport.park(this);
                continue;
            }
            seen = g;
            Task t = task;
            try {
                if (t != null) t.run(part, parts);
            } catch (Throwable e) {
                failure = e;
            }
            regions = NativeOps.parallelCalls(); // before the caller goes on: a region it starts next counts
            if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
            lingerUntil = System.nanoTime() + lingerNs;
        }
    }

    /** Stops the workers once a run under way has finished. */
    private void stop() {
        lock.lock();
        try {
            stopped = true;
            for (Thread w : workers) LockSupport.unpark(w);
        } finally {
            lock.unlock();
        }
    }
}
