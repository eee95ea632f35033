package dev.panamann.ops;

import dev.panamann.ops.java.ComposedConvBnReluOp;
import dev.panamann.ops.java.ComposedConvReluOp;
import dev.panamann.ops.java.ComposedConvReluPoolOp;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The compute backend: the few heavy operations every layer is built from. Two
 * implementations exist: {@link dev.panamann.ops.dnnl.NativeOps} (OpenBLAS {@code cblas_sgemm} and oneDNN
 * primitives, called through the FFM API) and {@link dev.panamann.ops.java.JavaOps} (plain Java loops). Get the
 * process-wide default from {@link Backends#get()}.
 *
 * <p>Stateful operations (convolution, pooling, batch norm) are <em>planned</em>: a plan is
 * made once for one set of shapes, keeps whatever the backend needs between calls
 * (oneDNN primitives, workspaces, scratch buffers) and is reused while the shapes hold.
 * Plans are closed by their owner (the layer) and used by one thread at a time.
 *
 * <p><b>Backward convention</b>, the same for every planned op ({@link Conv2dOp},
 * {@link Pool2dOp}, {@link BatchNormOp}, {@link ConvReluOp}, {@link ConvReluPoolOp}, {@link ConvBnReluOp}): {@code backward} takes again
 * the tensors the training {@code forward} read that the gradients depend on (the input
 * {@code x}, then the weights or scale; not a bias or shift), in the forward's order, then
 * the upstream gradient {@code dout}, then the gradients it overwrites, in the order of the
 * tensors they belong to ({@code dx} first, a bias gradient last). The caller keeps those
 * tensors unchanged between the two calls; the plan keeps only what the forward computed
 * (batch statistics, max-pool positions, activations in a backend's own layout). A backward
 * without a training forward before it throws {@link IllegalStateException}:
 * <pre>{@code
 * conv.backward(x, w, dout, dx, dw, db);
 * pool.backward(x, dout, dx);
 * batchNorm.backward(x, gamma, dout, dx, dgamma, dbeta);
 * }</pre>
 *
 * <p>All tensors are contiguous, row-major float32. Shapes are checked before any native
 * call; a mismatch throws {@link IllegalArgumentException} naming the shapes.
 */
public interface Ops extends AutoCloseable {

    /** "native" or "java". */
    String name();

    /** Threads used by this backend (OpenBLAS, OpenMP/oneDNN, or the Java loops). */
    int threads();

    /** Sets the thread count (1 or more) for this backend. */
    void setThreads(int threads);

    /**
     * Single-precision matrix multiply on row-major contiguous matrices:
     * {@code C = alpha * op(A) * op(B) + beta * C}, with {@code op(A)} of shape (m, k),
     * {@code op(B)} of shape (k, n) and C of shape (m, n). {@code A} is stored (m, k), or
     * (k, m) when {@code transA}; {@code B} is stored (k, n), or (n, k) when {@code transB}.
     * When beta is 0, C need not be initialised.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k,
              float alpha, MemorySegment a, MemorySegment b, float beta, MemorySegment c);

    /**
     * {@link #gemm(boolean, boolean, int, int, int, float, MemorySegment, MemorySegment, float, MemorySegment)}
     * on tensors viewed as matrices: {@code a} is (m, k) or (k, m) if transposed, and so on;
     * the sizes are checked against the tensors' element counts.
     */
    default void gemm(boolean transA, boolean transB, int m, int n, int k,
                      float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        checkGemmSizes(m, n, k);
        checkGemm(a, (long) m * k, "A", m, k, transA);
        checkGemm(b, (long) k * n, "B", k, n, transB);
        checkGemm(c, (long) m * n, "C", m, n, false);
        gemm(transA, transB, m, n, k, alpha, a.segment(), b.segment(), beta, c.segment());
    }

    /**
     * As {@link #gemm(boolean, boolean, int, int, int, float, MemorySegment, MemorySegment, float, MemorySegment)}
     * on row-major matrices with leading dimensions (BLAS's lda, ldb, ldc: the floats from one
     * stored row to the next), so a block of columns of a larger matrix is an operand without a
     * copy: e.g. the rows {@code [r0, r1)} of {@code x^T dout} are {@code gemm(true, false, r1 - r0,
     * n, k, 1, x + r0, lda = x's row length, dout, n, 0, c + r0 * n, n)}. Each leading dimension
     * must be at least the stored row length (k or m for A, n or k for B, n for C). The default
     * copies strided operands into contiguous ones around the contiguous gemm; the native backend
     * passes them to BLAS as they are.
     */
    default void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
                      MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        checkStridedGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) { // shared: a backend may read them from its worker threads
            MemorySegment ac = contiguous(arena, a, aRows, aCols, lda), bc = contiguous(arena, b, bRows, bCols, ldb);
            MemorySegment cc = contiguous(arena, c, m, n, ldc);
            gemm(transA, transB, m, n, k, alpha, ac, bc, beta, cc);
            if (cc != c) {
                for (int r = 0; r < m; r++) MemorySegment.copy(cc, (long) r * n * Float.BYTES, c, (long) r * ldc * Float.BYTES, (long) n * Float.BYTES);
            }
        }
    }

    /** {@code s} when its rows are contiguous (ld == cols), else a contiguous copy of its (rows, cols) block. */
    private static MemorySegment contiguous(java.lang.foreign.Arena arena, MemorySegment s, int rows, int cols, int ld) {
        if (ld == cols || rows <= 1) return s;
        MemorySegment d = arena.allocate((long) rows * cols * Float.BYTES, 64);
        for (int r = 0; r < rows; r++) MemorySegment.copy(s, (long) r * ld * Float.BYTES, d, (long) r * cols * Float.BYTES, (long) cols * Float.BYTES);
        return d;
    }

    /**
     * Checks the arguments of a strided {@link #gemm(boolean, boolean, int, int, int, float,
     * MemorySegment, int, MemorySegment, int, float, MemorySegment, int) gemm}: sizes &gt;= 0, each
     * leading dimension at least its row length, each segment long enough for its last row.
     */
    static void checkStridedGemm(boolean transA, boolean transB, int m, int n, int k, MemorySegment a, int lda,
                                 MemorySegment b, int ldb, MemorySegment c, int ldc) {
        checkGemmSizes(m, n, k);
        checkStrided(a, transA ? k : m, transA ? m : k, lda, "A", "lda");
        checkStrided(b, transB ? n : k, transB ? k : n, ldb, "B", "ldb");
        checkStrided(c, m, n, ldc, "C", "ldc");
    }

    private static void checkStrided(MemorySegment s, int rows, int cols, int ld, String what, String ldName) {
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException("gemm: " + ldName + " must be >= " + Math.max(1, cols) + " (the length of a stored row of "
                    + what + "), got " + ld);
        }
        long floats = rows == 0 || cols == 0 ? 0 : (long) (rows - 1) * ld + cols;
        checkBytes(s, floats, what);
    }

    /** Plans a 2-D convolution (NCHW input, (F, C, KH, KW) weights, bias (F)). */
    Conv2dOp conv2d(ConvGeometry g);

    /**
     * Plans convolution - ReLU - max pooling as one unit (cs231n's conv_relu_pool sandwich), so
     * that a backend can keep the activations in between in its own layout. By default it is
     * composed of {@link #conv2d} and {@link #pool2d} with a ReLU loop between them.
     *
     * @param g          the convolution
     * @param poolKernel max-pool window over the convolution's output
     * @param poolStride max-pool step
     */
    default ConvReluPoolOp convReluPool(ConvGeometry g, int poolKernel, int poolStride) {
        return new ComposedConvReluPoolOp(this, g, poolKernel, poolStride);
    }

    /**
     * Plans a convolution followed by a ReLU, {@code relu(conv(x, w) + b)}, as one unit, so that
     * a backend can apply the ReLU while the convolution writes its output and take the
     * backward mask from that output. By default it is composed of {@link #conv2d} and a ReLU
     * loop.
     *
     * @param g the convolution
     */
    default ConvReluOp convRelu(ConvGeometry g) {
        return new ComposedConvReluOp(this, g);
    }

    /**
     * Plans convolution - spatial batch norm - ReLU as one unit (the unit of VGG- and ResNet-style
     * nets), so that a backend can keep the activations in between in its own layout and apply
     * the ReLU inside the batch norm. By default it is composed of {@link #conv2d},
     * {@link #batchNorm} and a ReLU loop.
     *
     * @param g   the convolution; the batch norm runs over its F output channels
     * @param eps added to the batch norm's variance, &gt; 0
     */
    default ConvBnReluOp convBnRelu(ConvGeometry g, float eps) {
        return new ComposedConvBnReluOp(this, g, eps);
    }

    /** Plans 2-D max pooling ({@code max} true) or average pooling over NCHW input. */
    Pool2dOp pool2d(PoolGeometry g, boolean max);

    /**
     * Plans batch normalization over {@code n} samples of {@code c} channels, each with
     * {@code spatial} positions (1 for the 1-D form over (N, D), H*W for the spatial form).
     */
    BatchNormOp batchNorm(int n, int c, int spatial, float eps);

    /**
     * Plans batch normalization for input of shape {@code inputShape}: (N, D) for the 1-D form,
     * (N, C, H, W) (or any (N, C, ...)) for the spatial form, with statistics per D or C. This
     * computes the spatial size for the caller; prefer it to
     * {@link #batchNorm(int, int, int, float)}.
     *
     * @param inputShape (N, C) or (N, C, ...)
     * @param eps        added to the variance, &gt; 0
     * @throws IllegalArgumentException naming the shape when it has fewer than two dimensions or
     *                                  the spatial size overflows an int
     */
    default BatchNormOp batchNorm(int[] inputShape, float eps) {
        if (inputShape.length < 2) {
            throw new IllegalArgumentException("batchnorm needs input (N, C) or (N, C, ...), got " + java.util.Arrays.toString(inputShape));
        }
        long spatial = 1;
        for (int d = 2; d < inputShape.length; d++) spatial *= inputShape[d];
        if (spatial > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("batchnorm input " + java.util.Arrays.toString(inputShape) + " has more than "
                    + Integer.MAX_VALUE + " spatial positions");
        }
        return batchNorm(inputShape[0], inputShape[1], (int) spatial, eps);
    }

    /** Frees what the backend holds (oneDNN engine and stream). */
    @Override
    void close();

    /**
     * Checks the arguments of a segment {@link #gemm} before anything runs: m, n and k must
     * be &gt;= 0 and each segment must hold at least the matrix the call reads or writes.
     * Throws {@link IllegalArgumentException} naming what is wrong (a native BLAS would print
     * its own complaint and return, or read out of bounds).
     */
    static void checkGemmSegments(int m, int n, int k, MemorySegment a, MemorySegment b, MemorySegment c) {
        checkGemmSizes(m, n, k);
        checkBytes(a, (long) m * k, "A");
        checkBytes(b, (long) k * n, "B");
        checkBytes(c, (long) m * n, "C");
    }

    private static void checkGemmSizes(int m, int n, int k) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: m, n and k must be >= 0, got m=" + m + ", n=" + n + ", k=" + k);
        }
    }

    private static void checkBytes(MemorySegment s, long floats, String what) {
        if (s.byteSize() < floats * Float.BYTES) {
            throw new IllegalArgumentException("gemm: " + what + " has " + s.byteSize() / Float.BYTES
                    + " floats, needs " + floats);
        }
    }

    private static void checkGemm(Tensor t, long expected, String what, int rows, int cols, boolean trans) {
        t.checkOpen();
        if (t.size() != expected) {
            throw new IllegalArgumentException("gemm: " + what + " should hold a " + (trans ? cols + "x" + rows
                    + " (transposed)" : rows + "x" + cols) + " matrix (" + expected + " values) but has shape "
                    + t.shapeString());
        }
    }
}
