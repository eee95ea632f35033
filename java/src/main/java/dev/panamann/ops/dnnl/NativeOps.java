package dev.panamann.ops.dnnl;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvBnReluOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluOp;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.Denormals;
import dev.panamann.ops.Ops;
import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;
import dev.panamann.ops.java.GemmKernel;

import static dev.panamann.bindings.openblas.openblas_h.CblasNoTrans;
import static dev.panamann.bindings.openblas.openblas_h.CblasRowMajor;
import static dev.panamann.bindings.openblas.openblas_h.CblasTrans;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.bindings.dnnl.dnnl_version_t;
import dev.panamann.bindings.omp.omp_h;
import dev.panamann.bindings.openblas.openblas_h;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The native backend: oneDNN 2.x primitives for convolution, pooling and batch normalization,
 * and matrix products on oneDNN's {@code dnnl_sgemm} or OpenBLAS's {@code cblas_sgemm}
 * ({@link GemmChoice}: by default oneDNN's where its kernels use AVX-512, OpenBLAS's
 * elsewhere), all called through the jextract-generated FFM bindings. Tensors are passed by
 * address: no copies.
 *
 * <p>One oneDNN CPU engine and one stream live as long as this object. Creating it loads the
 * libraries ({@link NativeLibraries}) and fails with {@link UnsatisfiedLinkError} naming what
 * is missing.
 */
public final class NativeOps implements Ops {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment engine;
    private final MemorySegment stream;
    private volatile int threads;
    /**
     * Per calling thread, whichever backend called on it last: the OpenMP thread count applied to
     * the thread (OpenMP's count is per calling thread; 0 before the first call). Static because
     * two backends with different counts may take turns on one thread (a data-parallel replica's
     * one-thread backend and the model's own, see {@code models.DataParallel}).
     */
    private static final ThreadLocal<int[]> APPLIED = ThreadLocal.withInitial(() -> new int[] {0});
    /**
     * Per calling thread: the size of the OpenMP team made for it with its signals held, so that
     * the team's threads (which inherit the mask they are created with) never take an
     * asynchronous signal ({@link HeldSignals}); 1 before any.
     */
    private static final ThreadLocal<int[]> QUIET_TEAM = ThreadLocal.withInitial(() -> new int[] {1});
    /** Per calling thread, true once this backend gave the thread's OpenMP team its float environment. */
    private final ThreadLocal<boolean[]> teamReady = ThreadLocal.withInitial(() -> new boolean[1]);
    /** oneDNN calls running on the engine or stream; close waits for them. */
    private final UseCount uses = new UseCount();
    /** The library of this backend's matrix products. */
    private final GemmChoice gemmChoice;
    /**
     * True for OpenBLAS's OpenMP build, which runs a caller whose OpenMP count is 1 on that thread
     * alone whatever its global count; other builds take the global count, so their one-thread
     * products pass the {@link BlasGate} too.
     */
    private final boolean blasOpenMp;

    public NativeOps() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /**
     * @param threads threads of OpenBLAS, OpenMP and the Java loops, &gt;= 1
     * @throws IllegalArgumentException when {@code panamann.gemm} has a value it does not know
     */
    public NativeOps(int threads) {
        this(threads, null);
    }

    /**
     * @param gemm the {@code panamann.gemm} setting to use ({@code auto}, {@code onednn},
     *             {@code openblas}), or null to read it from the property / environment
     */
    NativeOps(int threads, String gemm) {
        // Before the libraries load and before any OpenMP thread exists: threads inherit MXCSR
        // from the thread that creates them.
        Denormals.applyToCurrentThread();
        NativeLibraries.load();
        checkDnnlVersion();
        GemmChoice requested = GemmChoice.of(gemm != null ? gemm : NativeLibraries.setting("panamann.gemm", "PANAMANN_GEMM"),
                dnnl_h.dnnl_get_effective_cpu_isa()); // a bad setting fails before anything is made
        MemorySegment p = arena.allocate(ValueLayout.ADDRESS);
        Dnnl.check(dnnl_h.dnnl_engine_create(p, dnnl_h.dnnl_cpu(), 0), "dnnl_engine_create");
        engine = p.get(ValueLayout.ADDRESS, 0);
        Dnnl.check(dnnl_h.dnnl_stream_create(p, engine, dnnl_h.dnnl_stream_default_flags()), "dnnl_stream_create");
        stream = p.get(ValueLayout.ADDRESS, 0);
        blasOpenMp = openblas_h.openblas_get_parallel() == 2;
        setThreads(threads);
        warnIfPthreadOpenBlas();
        verifyBlasCoreOnce(this);
        gemmChoice = blasFallback == null ? requested : new GemmChoice(true, "OpenBLAS failed its check");
    }

    /**
     * Which library runs the matrix products: setting {@code panamann.gemm} (environment
     * {@code PANAMANN_GEMM}) = {@code auto} (the default), {@code onednn} or {@code openblas}.
     * {@code auto} takes oneDNN's {@code dnnl_sgemm} when oneDNN runs AVX-512 kernels on this CPU
     * (measured 3-7 % faster per training step than OpenBLAS's AVX-512 kernels on the library's
     * MLP and conv-net shapes, docs/benchmarks.md) and OpenBLAS otherwise (on AVX2-only CPUs the two
     * were not compared). When the OpenBLAS core selected at start-up failed its check, oneDNN's
     * is used whatever the setting.
     *
     * <p>oneDNN 2.x's generated sgemm kernels point the stack pointer into the heap while they
     * run (oneDNN issue 4845, fixed in 3.11): a signal handled on a thread running one (a JFR or
     * async-profiler sample, any handler) writes into the heap, and the process aborts later. So
     * {@link #sgemm} holds the calling thread's signals for the call, and the OpenMP team that
     * runs the other parts never takes an asynchronous signal ({@link #beforeNativeCall}).
     *
     * @param onednn true for oneDNN's {@code dnnl_sgemm}, false for OpenBLAS's {@code cblas_sgemm}
     * @param why    how it was chosen, for {@link #describe()}
     */
    record GemmChoice(boolean onednn, String why) {
        static GemmChoice of(String setting, int isa) {
            String v = setting == null || setting.isBlank() ? "auto" : setting.trim();
            if (!v.equals("auto") && !v.equals("onednn") && !v.equals("openblas")) {
                throw new IllegalArgumentException("panamann.gemm (PANAMANN_GEMM) must be auto, onednn or openblas, got '" + setting + "'");
            }
            if (!v.equals("auto")) return new GemmChoice(v.equals("onednn"), "set by panamann.gemm");
            int avx512 = dnnl_h.dnnl_cpu_isa_avx512_core();
            return (isa & avx512) == avx512 ? new GemmChoice(true, "auto: AVX-512") : new GemmChoice(false, "auto");
        }
    }

    /** True when this backend's matrix products run on oneDNN's {@code dnnl_sgemm}, false for OpenBLAS. */
    boolean gemmOnOneDnn() { return gemmChoice.onednn(); }

    @Override
    public String name() { return "native"; }

    @Override
    public int threads() { return threads; }

    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        APPLIED.get()[0] = 0; // apply on this thread now, and on others at their next call
        beforeNativeCall();
    }

    /**
     * Prepares the calling thread; cheap when already done. Every native op calls this first.
     * It applies the thread setting to the calling thread's OpenMP state (an OpenMP ICV is per
     * thread), and, once per thread, flush-to-zero ({@link Denormals}) to the calling thread and
     * to every thread of its OpenMP team, which OpenBLAS and oneDNN share (libgomp keeps one team
     * per calling thread; threads it adds later inherit the caller's state). The team is made
     * (and grown, when the thread setting grows) with the caller's signals held, so its threads
     * never take an asynchronous signal: oneDNN 2.x's sgemm kernels must not take one
     * ({@link HeldSignals}), and process-directed signals (Ctrl-C's SIGINT, SIGTERM) then go to
     * the JVM's threads.
     */
    public void beforeNativeCall() {
        checkOpen();
        int[] applied = APPLIED.get();
        int t = threads;
        if (applied[0] != t) {
            // OpenBLAS's own global count is set right before each product that uses it (BlasGate)
            omp_h.omp_set_num_threads(t);
            applied[0] = t;
        }
        boolean[] team = teamReady.get();
        int[] quiet = QUIET_TEAM.get();
        if (!team[0] || t > quiet[0]) {
            Denormals.applyToCurrentThread();
            MemorySegment held = HeldSignals.hold();
            try {
                OmpTeam.install(t);
            } finally {
                HeldSignals.release(held);
            }
            quiet[0] = Math.max(quiet[0], t);
            team[0] = true;
        }
    }

    /** The oneDNN engine (CPU, index 0). */
    public MemorySegment engine() { checkOpen(); return engine; }

    /** The oneDNN stream every primitive of this backend runs on. */
    public MemorySegment stream() { checkOpen(); return stream; }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float alpha, MemorySegment a, MemorySegment b, float beta, MemorySegment c) {
        Ops.checkGemmSegments(m, n, k, a, b, c);
        if (m == 0 || n == 0) return;
        sgemm(transA, transB, m, n, k, alpha, a, Math.max(1, transA ? m : k), b, Math.max(1, transB ? k : n), beta, c, Math.max(1, n));
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                     MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        Ops.checkStridedGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /**
     * oneDNN's products of fewer multiply-adds than this run on the calling thread alone: with the
     * passive OpenMP wait policy a parallel region first wakes a sleeping thread, which costs more
     * than such a product (the batch-norm MLP's 200 x 100 x 200 products took 0.15-0.2 ms on 2
     * threads; one thread for them made its step 10 % faster, docs/benchmarks.md).
     */
    static final long ONE_THREAD_MACS = 1L << 23;

    /** OpenBLAS (0.3.21, default build) runs products of at most this many multiply-adds on one thread. */
    private static final long BLAS_ONE_THREAD_MACS = 65536L * 4;

    /**
     * Counts the native calls that start an OpenMP parallel region on more than one thread. The
     * library's Java worker threads ({@code optim.UpdateThreads}), which spin for a while for the
     * next part of a step, stop spinning when it changes: a worker spinning on a core holds the
     * core that the region's sleeping OpenMP thread is woken on, and the region waits for the
     * spin to end (0.16 ms of a 3 ms batch-norm MLP step on 2 cores; docs/benchmarks.md, "Under
     * load: OpenMP wait policy").
     */
    private static volatile int parallelCalls;

    /** The count of {@link #parallelCalls}; it only grows (and wraps): readers look for a change. */
    public static int parallelCalls() { return parallelCalls; }

    /** Before a native call that starts an OpenMP parallel region on more than one thread. */
    static void parallelRegionAhead() {
        parallelCalls++; // not atomic: concurrent callers may lose a count, which no reader minds
    }

    /**
     * Row-major sgemm on checked arguments, on the library of {@link GemmChoice}; oneDNN's
     * small products on one thread ({@link #ONE_THREAD_MACS}; OpenBLAS decides that itself),
     * every oneDNN product with the calling thread's signals held ({@link HeldSignals}), and
     * OpenBLAS's products of two or more threads through the {@link BlasGate}, which sets
     * OpenBLAS's global thread count for them.
     */
    private void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                       MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        beforeNativeCall();
        int t = threads;
        if (!gemmChoice.onednn()) {
            if (t == 1 && blasOpenMp) {
                blasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                return;
            }
            if (t > 1 && (long) m * n * k > BLAS_ONE_THREAD_MACS) parallelRegionAhead();
            BlasGate.enter(t);
            try {
                blasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            } finally {
                BlasGate.exit();
            }
            return;
        }
        boolean alone = t > 1 && (long) m * n * k < ONE_THREAD_MACS;
        if (alone) omp_h.omp_set_num_threads(1);
        else if (t > 1) parallelRegionAhead();
        MemorySegment held = HeldSignals.hold();
        try {
            dnnlSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } finally {
            HeldSignals.release(held);
            if (alone) omp_h.omp_set_num_threads(t);
        }
    }

    private static void blasSgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                                  MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        openblas_h.cblas_sgemm(CblasRowMajor(), transA ? CblasTrans() : CblasNoTrans(), transB ? CblasTrans() : CblasNoTrans(),
                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    @Override
    public Conv2dOp conv2d(ConvGeometry g) { return new DnnlConv2dOp(this, g); }

    @Override
    public Pool2dOp pool2d(PoolGeometry g, boolean max) { return new DnnlPool2dOp(this, g, max); }

    /** One oneDNN plan that keeps the activations in the convolution's blocked layout. */
    @Override
    public ConvReluPoolOp convReluPool(ConvGeometry g, int poolKernel, int poolStride) {
        if (DnnlConv2dOp.plainLayout()) return Ops.super.convReluPool(g, poolKernel, poolStride);
        return new DnnlConvReluPoolOp(this, g, poolKernel, poolStride);
    }

    /** One oneDNN plan: the ReLU is the convolution's post-op; backward masks with the kept output. */
    @Override
    public ConvReluOp convRelu(ConvGeometry g) {
        if (DnnlConv2dOp.plainLayout()) return Ops.super.convRelu(g);
        return new DnnlConvReluOp(this, g);
    }

    /**
     * One oneDNN plan: the batch norm runs with the ReLU fused on the convolution's blocked output;
     * only the unit's input and output (and their gradients) are reordered.
     */
    @Override
    public ConvBnReluOp convBnRelu(ConvGeometry g, float eps) {
        if (DnnlConv2dOp.plainLayout()) return Ops.super.convBnRelu(g, eps);
        return new DnnlConvBnReluOp(this, g, eps);
    }

    @Override
    public BatchNormOp batchNorm(int n, int c, int spatial, float eps) {
        checkOpen();
        // (N, C) rows run on the calling thread in Java (JavaBatchNormOp.rows): oneDNN 2.6 runs
        // them with a loop that strides over N, or, described channels-last, with parallel passes
        // that still took longer than the Java row loops at the MLP's sizes (docs/benchmarks.md).
        if (spatial == 1) return dev.panamann.ops.java.JavaBatchNormOp.rows(n, c, eps);
        return dnnlBatchNorm(n, c, spatial, eps);
    }

    /** oneDNN's batch norm for any shape, also (N, C) rows, which {@link #batchNorm} gives to Java (the rows' twin in tests). */
    BatchNormOp dnnlBatchNorm(int n, int c, int spatial, float eps) { return new DnnlBatchNormOp(this, n, c, spatial, eps); }

    /**
     * One line for logs: backend, threads, the OpenBLAS version and core (and whether this process
     * selected it, {@link BlasCore}), the oneDNN version and the instruction set its kernels use,
     * the OpenMP wait policy and flush-to-zero, e.g. {@code backend native, 2 threads, OpenBLAS
     * 0.3.21 core SkylakeX (selected automatically: AVX-512), oneDNN 2.6.3 ISA avx512_core_amx,
     * gemm oneDNN (auto: AVX-512), OpenMP wait passive (default), flush denormals on, Java loops
     * vector (16 floats)}: "gemm" names the library of the matrix products ({@link GemmChoice}). The Java
     * loops are the optimizer updates (and the pure-Java backend's kernels): {@code vector} when
     * the JVM runs with {@code --add-modules jdk.incubator.vector}, else {@code scalar}.
     */
    public String describe() {
        MemorySegment v = dnnl_h.dnnl_version().reinterpret(dnnl_version_t.layout().byteSize());
        String[] config = cString(openblas_h.openblas_get_config()).split(" ");
        String version = config.length >= 2 ? config[0] + " " + config[1] : String.join(" ", config);
        String selected = NativeLibraries.selectedBlasCore();
        String origin = selected != null ? "selected automatically: " + NativeLibraries.blasCoreReason().replaceFirst("^auto: ", "")
                : NativeLibraries.blasCoreReason();
        String blas = version + " core " + cString(openblas_h.openblas_get_corename()) + " (" + origin + ")"
                + (openblas_h.openblas_get_parallel() == 2 ? "" : " " + parallelName(openblas_h.openblas_get_parallel()));
        return "backend native, " + threads + " threads, " + blas + ", oneDNN " + dnnl_version_t.major(v) + "."
                + dnnl_version_t.minor(v) + "." + dnnl_version_t.patch(v) + " ISA " + isaName(dnnl_h.dnnl_get_effective_cpu_isa())
                + ", gemm " + (gemmChoice.onednn() ? "oneDNN" : "OpenBLAS") + " (" + gemmChoice.why() + ")"
                + ", OpenMP wait " + NativeLibraries.ompWaitPolicy() + ", flush denormals " + Denormals.describe()
                + ", Java loops " + GemmKernel.describeSettings();
    }

    /** oneDNN 2.x's {@code dnnl_cpu_isa_t} values. */
    static String isaName(int isa) {
        return switch (isa) {
            case 0x0 -> "all";
            case 0x1 -> "sse41";
            case 0x3 -> "avx";
            case 0x7 -> "avx2";
            case 0xf -> "avx512_mic";
            case 0x1f -> "avx512_mic_4ops";
            case 0x27 -> "avx512_core";
            case 0x67 -> "avx512_core_vnni";
            case 0xe7 -> "avx512_core_bf16";
            case 0x3e7 -> "avx512_core_amx";
            case 0x407 -> "avx2_vnni";
            default -> "0x" + Integer.toHexString(isa);
        };
    }

    /**
     * Destroys the oneDNN stream and engine, after waiting for the oneDNN calls other threads
     * are running on them; later calls (and plans made by this backend) throw
     * {@link IllegalStateException}.
     */
    @Override
    public void close() {
        if (!uses.close()) return;
        dnnl_h.dnnl_stream_destroy(stream);
        dnnl_h.dnnl_engine_destroy(engine);
        arena.close();
    }

    @Override
    public String toString() { return "NativeOps(threads=" + threads + ")"; }

    private void checkOpen() {
        if (uses.isClosed()) throw new IllegalStateException("NativeOps is closed");
    }

    /** Counts a oneDNN call on the engine or stream in; throws when this backend is closed. */
    void enterCall() { uses.enter("NativeOps"); }

    /** Counts the call out again. */
    void exitCall() { uses.exit(); }

    private static void checkDnnlVersion() {
        MemorySegment v = dnnl_h.dnnl_version().reinterpret(dnnl_version_t.layout().byteSize());
        int major = dnnl_version_t.major(v);
        if (major != 2) {
            throw new UnsatisfiedLinkError("oneDNN " + major + "." + dnnl_version_t.minor(v)
                    + " was loaded but panama-nn uses the oneDNN 2.x C API: install libdnnl2 (2.6)");
        }
    }

    /** Reads a NUL-terminated C string returned by a native call. */
    static String cString(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? "?" : p.reinterpret(4096).getString(0);
    }

    private static String parallelName(int p) {
        return switch (p) {
            case 0 -> "sequential";
            case 1 -> "pthreads";
            case 2 -> "OpenMP";
            default -> "parallel=" + p;
        };
    }

    /** Non-null when the automatically selected OpenBLAS core failed its check: why. */
    private static volatile String blasFallback;
    private static boolean blasVerified;

    /**
     * Once per process, when {@link NativeLibraries} selected the OpenBLAS core itself: checks that
     * OpenBLAS took it and that its sgemm agrees with a reference ({@link BlasCore#selfCheck}). If
     * not, prints one warning and sends every gemm of the native backend to oneDNN's own
     * {@code dnnl_sgemm} for the rest of the process (OpenBLAS cannot be reloaded).
     */
    private static synchronized void verifyBlasCoreOnce(NativeOps ops) {
        if (blasVerified) return;
        blasVerified = true;
        String selected = NativeLibraries.selectedBlasCore();
        if (selected == null) return;
        String core = cString(openblas_h.openblas_get_corename());
        String problem = core.equalsIgnoreCase(selected) ? null : "OpenBLAS runs core " + core + " instead";
        if (problem == null) {
            problem = BlasCore.selfCheck((ta, tb, m, n, k, alpha, a, b, beta, c) -> {
                try (Arena t = Arena.ofConfined()) {
                    MemorySegment sa = t.allocateFrom(ValueLayout.JAVA_FLOAT, a), sb = t.allocateFrom(ValueLayout.JAVA_FLOAT, b);
                    MemorySegment sc = t.allocateFrom(ValueLayout.JAVA_FLOAT, c);
                    ops.beforeNativeCall();
                    blasSgemm(ta, tb, m, n, k, alpha, sa, ta ? m : k, sb, tb ? k : n, beta, sc, n);
                    MemorySegment.copy(sc, ValueLayout.JAVA_FLOAT, 0, c, 0, c.length);
                }
            });
        }
        if (problem != null) {
            blasFallback = problem;
            System.err.println("panama-nn: WARNING: OpenBLAS core " + selected + " (OPENBLAS_CORETYPE set automatically) failed its check: "
                    + problem + ". Matrix products use oneDNN's dnnl_sgemm instead. Set -Dpanamann.blasCore=off or OPENBLAS_CORETYPE to choose yourself.");
        }
    }

    /** Why gemm runs on oneDNN's sgemm instead of OpenBLAS, or null when it does not. */
    public static String blasFallback() { return blasFallback; }

    /** The downcall of {@code dnnl_sgemm}, looked up at first use (the libraries are loaded by then). */
    private static final class DnnlSgemm {
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(
                SymbolLookup.loaderLookup().find("dnnl_sgemm").orElseThrow(() -> new UnsatisfiedLinkError("dnnl_sgemm not found")),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_BYTE, ValueLayout.JAVA_BYTE,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_FLOAT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    }

    /** oneDNN's row-major {@code dnnl_sgemm} on checked arguments. */
    static void dnnlSgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                          MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        try {
            int rc = (int) DnnlSgemm.HANDLE.invokeExact((byte) (transA ? 'T' : 'N'), (byte) (transB ? 'T' : 'N'), (long) m, (long) n,
                    (long) k, alpha, a, (long) lda, b, (long) ldb, beta, c, (long) ldc);
            Dnnl.check(rc, "dnnl_sgemm");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("dnnl_sgemm failed", t);
        }
    }

    private static boolean warnedPthread;

    private static synchronized void warnIfPthreadOpenBlas() {
        if (!warnedPthread && openblas_h.openblas_get_parallel() == 1) {
            warnedPthread = true;
            System.err.println("panama-nn: WARNING: the pthread build of OpenBLAS is loaded; it competes with oneDNN's "
                    + "OpenMP threads. Install the OpenMP build: apt-get install libopenblas0-openmp");
        }
    }
}
