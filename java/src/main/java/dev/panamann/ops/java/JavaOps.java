package dev.panamann.ops.java;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.Denormals;
import dev.panamann.ops.Ops;
import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;

/**
 * The pure-Java backend: plain loops, no native code. It is the fallback where OpenBLAS or
 * oneDNN are missing and the baseline every speed claim is measured against, so it is a
 * competent one: matrices are packed into reused heap arrays, multiplied in cache-sized
 * blocks by a {@link GemmKernel}, and split by rows over {@link #threads()} threads.
 * Flush-to-zero ({@link Denormals}) is set on the calling thread and on the workers.
 *
 * <p>The kernel is register-blocked on the Vector API when the JVM runs with
 * {@code --add-modules jdk.incubator.vector} (several times faster on the conv net), and plain
 * loops the JIT auto-vectorizes otherwise; {@code panamann.java.vector=auto|on|off} (or
 * {@code PANAMANN_JAVA_VECTOR}) chooses, see {@link GemmKernel}.
 */
public final class JavaOps implements Ops {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final GemmKernel kernel;
    private int threads;
    private ForkJoinPool pool;
    /** op(B) packed per calling thread, so that callers on different threads do not share it. */
    private final ThreadLocal<float[][]> packB = ThreadLocal.withInitial(() -> new float[2][0]);
    private final ThreadLocal<float[][]> scratch = ThreadLocal.withInitial(() -> new float[2][0]);

    public JavaOps() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** A backend on {@code threads} threads with the kernel the settings ask for ({@link GemmKernel#fromSettings()}). */
    public JavaOps(int threads) {
        this(threads, GemmKernel.fromSettings());
    }

    /** A backend on {@code threads} threads with the given gemm kernel. */
    public JavaOps(int threads, GemmKernel kernel) {
        Denormals.applyToCurrentThread();
        this.kernel = java.util.Objects.requireNonNull(kernel, "kernel");
        setThreads(threads);
    }

    /** The gemm kernel in use. */
    public GemmKernel kernel() { return kernel; }

    @Override
    public String name() { return "java"; }

    @Override
    public int threads() { return threads; }

    @Override
    public synchronized void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (pool != null) pool.shutdown();
        this.threads = threads;
        this.pool = threads > 1 ? new ForkJoinPool(threads, FlushingWorker::new, null, false) : null;
    }

    /** An unstarted thread: memory it may touch is memory any thread may touch (not confined). */
    private static final Thread PROBE = new Thread(() -> { }, "panama-nn access probe (never started)");

    /**
     * Whether the pool's threads may read and write {@code s}: false for memory confined to one
     * thread (an {@code Arena.ofConfined()}), which only its owner may touch; the ops then run
     * their loops on the calling thread alone. Null counts as shareable.
     */
    public static boolean shareable(MemorySegment s) {
        return s == null || s.isAccessibleBy(PROBE);
    }

    /**
     * Runs {@code body(from, to)} over [0, n) split in contiguous chunks over the threads; on the
     * calling thread alone when {@code onPool} is false (the body touches memory the pool's
     * threads may not, {@link #shareable}) or the work is small.
     */
    public void parallelFor(boolean onPool, int n, long workPerItem, RangeBody body) {
        Denormals.applyToCurrentThread();
        if (!onPool || pool == null || n < 2 || (long) n * workPerItem < 200_000) {
            body.run(0, n);
            return;
        }
        int parts = Math.min(n, threads * 4);
        pool.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                RecursiveAction[] tasks = new RecursiveAction[parts];
                for (int p = 0; p < parts; p++) {
                    int from = (int) ((long) n * p / parts), to = (int) ((long) n * (p + 1) / parts);
                    tasks[p] = new RecursiveAction() {
                        @Override
                        protected void compute() { body.run(from, to); }
                    };
                }
                invokeAll(tasks);
            }
        });
    }

    /**
     * Runs {@code body(t)} for t in [0, tasks), each task on its own thread of the pool when
     * there is one (the caller's share included); one after another on the calling thread when
     * there is none or {@code onPool} is false ({@link #shareable}).
     */
    public void parallelTasks(boolean onPool, int tasks, java.util.function.IntConsumer body) {
        Denormals.applyToCurrentThread();
        if (!onPool || pool == null || tasks < 2) {
            for (int t = 0; t < tasks; t++) body.accept(t);
            return;
        }
        pool.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                RecursiveAction[] all = new RecursiveAction[tasks];
                for (int t = 0; t < tasks; t++) {
                    int task = t;
                    all[t] = new RecursiveAction() {
                        @Override
                        protected void compute() { body.accept(task); }
                    };
                }
                invokeAll(all);
            }
        });
    }

    /** A worker of the pool: flush-to-zero ({@link Denormals}) from its start, like the caller. */
    private static final class FlushingWorker extends ForkJoinWorkerThread {
        FlushingWorker(ForkJoinPool pool) {
            super(null, pool, true);
            setDaemon(true);
        }

        @Override
        protected void onStart() {
            super.onStart();
            Denormals.applyToCurrentThread();
        }
    }

    /** A loop body over a half-open range. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** Safe to call from several threads at once: each caller packs into its own arrays. */
    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float alpha, MemorySegment a, MemorySegment b, float beta, MemorySegment c) {
        Ops.checkGemmSegments(m, n, k, a, b, c);
        if (m == 0 || n == 0) return;
        int nr = kernel.panelWidth();
        if ((long) k * n > Integer.MAX_VALUE - 8 || (long) m * Math.max(k, n + nr) > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("gemm: m=" + m + ", n=" + n + ", k=" + k
                    + " is too large for the Java backend (its packed blocks are Java arrays)");
        }
        // Pack op(B) once into the kernel's panels; rows of op(A) are packed per task.
        int panels = Panels.count(n, nr), packed = Panels.size(k, n, nr);
        float[][] pack = packB.get();
        if (pack[0].length < k * n) pack[0] = new float[k * n];
        if (pack[1].length < packed) pack[1] = new float[packed];
        float[] raw = pack[0], bp = pack[1];
        MemorySegment.copy(b, F, 0, raw, 0, k * n);
        if (transB) Panels.packTransposed(raw, 0, k, n, nr, bp);
        else Panels.packRows(raw, 0, k, n, nr, bp);
        parallelFor(shareable(a) && shareable(c), m, (long) n * k, (from, to) -> gemmRows(transA, m, n, k, alpha, a, bp, panels, beta, c, from, to));
    }

    private void gemmRows(boolean transA, int m, int n, int k, float alpha, MemorySegment a, float[] bp, int panels,
                          float beta, MemorySegment c, int from, int to) {
        int rows = to - from, ldc = panels * kernel.panelWidth();
        float[][] s = scratch.get();
        if (s[0].length < rows * k) s[0] = new float[rows * k];
        if (s[1].length < rows * ldc) s[1] = new float[rows * ldc];
        float[] ap = s[0], cp = s[1];
        // pack rows [from, to) of op(A)
        if (transA) {
            for (int i = 0; i < rows; i++) {
                for (int p = 0; p < k; p++) ap[i * k + p] = a.getAtIndex(F, (long) p * m + from + i);
            }
        } else {
            MemorySegment.copy(a, F, (long) from * k * Float.BYTES, ap, 0, rows * k);
        }
        kernel.multiplyAddPacked(ap, bp, panels, cp, ldc, rows, k, false);
        for (int i = 0; i < rows; i++) {
            long base = (long) (from + i) * n;
            int ci = i * ldc;
            if (beta == 0f) {
                for (int j = 0; j < n; j++) c.setAtIndex(F, base + j, alpha * cp[ci + j]);
            } else {
                for (int j = 0; j < n; j++) c.setAtIndex(F, base + j, alpha * cp[ci + j] + beta * c.getAtIndex(F, base + j));
            }
        }
    }

    @Override
    public Conv2dOp conv2d(ConvGeometry g) { return new JavaConv2dOp(this, g); }

    /** Conv - ReLU - max pool with the ReLU and its mask applied inside the convolution's passes. */
    @Override
    public ConvReluPoolOp convReluPool(ConvGeometry g, int poolKernel, int poolStride) {
        return new JavaConvReluPoolOp(this, g, poolKernel, poolStride);
    }

    @Override
    public Pool2dOp pool2d(PoolGeometry g, boolean max) { return new JavaPool2dOp(this, g, max); }

    @Override
    public BatchNormOp batchNorm(int n, int c, int spatial, float eps) { return new JavaBatchNormOp(this, n, c, spatial, eps); }

    @Override
    public synchronized void close() {
        if (pool != null) pool.shutdown();
        pool = null;
    }

    @Override
    public String toString() { return "JavaOps(threads=" + threads + ", gemm " + kernel.name() + ")"; }
}
