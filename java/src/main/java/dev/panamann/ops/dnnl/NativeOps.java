package dev.panamann.ops.dnnl;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.Ops;
import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;

import static dev.panamann.bindings.openblas.openblas_h.CblasNoTrans;
import static dev.panamann.bindings.openblas.openblas_h.CblasRowMajor;
import static dev.panamann.bindings.openblas.openblas_h.CblasTrans;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.bindings.dnnl.dnnl_version_t;
import dev.panamann.bindings.omp.omp_h;
import dev.panamann.bindings.openblas.openblas_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The native backend: OpenBLAS {@code cblas_sgemm} for matrix products and oneDNN 2.x
 * primitives for convolution, pooling and batch normalization, all called through the
 * jextract-generated FFM bindings. Tensors are passed by address: no copies.
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
    /** Bumped by {@link #setThreads}: OpenMP's thread count is per calling thread. */
    private volatile int threadEpoch;
    private final ThreadLocal<int[]> appliedEpoch = ThreadLocal.withInitial(() -> new int[] {-1});
    /** oneDNN calls running on the engine or stream; close waits for them. */
    private final UseCount uses = new UseCount();

    public NativeOps() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public NativeOps(int threads) {
        NativeLibraries.load();
        checkDnnlVersion();
        MemorySegment p = arena.allocate(ValueLayout.ADDRESS);
        Dnnl.check(dnnl_h.dnnl_engine_create(p, dnnl_h.dnnl_cpu(), 0), "dnnl_engine_create");
        engine = p.get(ValueLayout.ADDRESS, 0);
        Dnnl.check(dnnl_h.dnnl_stream_create(p, engine, dnnl_h.dnnl_stream_default_flags()), "dnnl_stream_create");
        stream = p.get(ValueLayout.ADDRESS, 0);
        setThreads(threads);
        warnIfPthreadOpenBlas();
    }

    @Override
    public String name() { return "native"; }

    @Override
    public int threads() { return threads; }

    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        threadEpoch++;
        openblas_h.openblas_set_num_threads(threads);
        beforeNativeCall();
    }

    /**
     * Applies the thread setting to the calling thread's OpenMP state (an OpenMP ICV is per
     * thread); cheap when already applied. Every native op calls this first.
     */
    public void beforeNativeCall() {
        checkOpen();
        int[] applied = appliedEpoch.get();
        if (applied[0] != threadEpoch) {
            omp_h.omp_set_num_threads(threads);
            applied[0] = threadEpoch;
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
        beforeNativeCall();
        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        openblas_h.cblas_sgemm(CblasRowMajor(), transA ? CblasTrans() : CblasNoTrans(), transB ? CblasTrans() : CblasNoTrans(),
                m, n, k, alpha, a, Math.max(1, lda), b, Math.max(1, ldb), beta, c, Math.max(1, n));
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

    @Override
    public BatchNormOp batchNorm(int n, int c, int spatial, float eps) { return new DnnlBatchNormOp(this, n, c, spatial, eps); }

    /** A one-line description of the loaded libraries, e.g. for logs. */
    public String describe() {
        MemorySegment v = dnnl_h.dnnl_version().reinterpret(dnnl_version_t.layout().byteSize());
        String blas = cString(openblas_h.openblas_get_config());
        return "OpenBLAS [" + blas + ", core " + cString(openblas_h.openblas_get_corename()) + ", "
                + parallelName(openblas_h.openblas_get_parallel()) + "], oneDNN " + dnnl_version_t.major(v) + "."
                + dnnl_version_t.minor(v) + "." + dnnl_version_t.patch(v) + ", threads " + threads;
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

    private static boolean warnedPthread;

    private static synchronized void warnIfPthreadOpenBlas() {
        if (!warnedPthread && openblas_h.openblas_get_parallel() == 1) {
            warnedPthread = true;
            System.err.println("panama-nn: WARNING: the pthread build of OpenBLAS is loaded; it competes with oneDNN's "
                    + "OpenMP threads. Install the OpenMP build: apt-get install libopenblas0-openmp");
        }
    }
}
