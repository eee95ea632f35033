package dev.panamann.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The elementwise loops of the library in one place, over float32 segments of {@code n}
 * contiguous values: activations (ReLU, sigmoid) and their gradients, {@code axpy}, sums and
 * the row argmax. Layers, losses, models and the pure-Java ops call these instead of keeping
 * their own copies, so a faster loop (e.g. a vectorized one) lands everywhere at once.
 *
 * <p>The loops a training step runs on every batch (ReLU, its gradient, bias rows, column sums,
 * sums of tensors) copy chunks of {@value #CHUNK} floats into heap arrays and back: C2 vectorizes
 * loops over heap arrays, not these loops over memory segments (about 5x faster for ReLU, 1.7x for
 * the bias; docs/benchmarks.md). Each element gets the same float operations in the same order
 * as a plain loop, so the results are those of the plain loops to the bit (but for a negative
 * subnormal input to ReLU with denormals-are-zero set, which either loop may return as itself or
 * as +0, depending on how the JIT compiled it: both are zero to the CPU then). Each thread that
 * calls them keeps 16 KB of chunk arrays. (Vector API loops,
 * faster still once compiled, run boxed and many times slower until C2 compiles them: tens of
 * steps into a run.)
 *
 * <p>The signatures are deliberately plain (segments and counts, no tensors): callers check
 * shapes before they get here. Output segments may be the same as input segments where noted.
 */
public final class Elementwise {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    /** Floats per chunk of the loops that go through heap arrays (4 KB: the arrays stay in L1). */
    static final int CHUNK = 1024;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** A thread's chunk arrays (the loops run on the caller's and the replicas' threads at once). */
    private static final class Scratch {
        final float[] a = new float[CHUNK], b = new float[CHUNK];
        final int[] i = new int[CHUNK], j = new int[CHUNK];
    }

    private Elementwise() {}

    // ------------------------------------------------------------------ activations

    /** {@code out[i] = max(x[i], 0)} for i in [0, n); out may be x. */
    public static void relu(MemorySegment x, MemorySegment out, int n) {
        float[] a = SCRATCH.get().a;
        for (int s = 0; s < n; s += CHUNK) {
            int len = Math.min(CHUNK, n - s);
            MemorySegment.copy(x, F, (long) s * Float.BYTES, a, 0, len);
            for (int i = 0; i < len; i++) a[i] = Math.max(a[i], 0f);
            MemorySegment.copy(a, 0, out, F, (long) s * Float.BYTES, len);
        }
    }

    /**
     * {@code dx[i] = out[i] > 0 ? dout[i] : 0} for i in [0, n), from the forward's output
     * (which is > 0 exactly where the input was).
     */
    public static void reluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        Scratch t = SCRATCH.get();
        int[] o = t.i, d = t.j;
        for (int s = 0; s < n; s += CHUNK) {
            int len = Math.min(CHUNK, n - s);
            long at = (long) s * Float.BYTES;
            MemorySegment.copy(out, I, at, o, 0, len);
            MemorySegment.copy(dout, I, at, d, 0, len);
            // on the bits, branch-free (the sign of a ReLU input is a coin flip for a branch):
            // out >= +0, so its bits are 0 exactly when out is 0; the mask is all ones otherwise
            for (int i = 0; i < len; i++) d[i] &= (o[i] | -o[i]) >> 31;
            MemorySegment.copy(d, 0, dx, I, at, len);
        }
    }

    /**
     * {@code out[i] = 1 / (1 + exp(-x[i]))} for i in [0, n), without overflow for large |x|;
     * out may be x.
     */
    public static void sigmoid(MemorySegment x, MemorySegment out, int n) {
        for (int i = 0; i < n; i++) {
            float v = x.getAtIndex(F, i);
            // exp of a non-positive number only: no overflow for either sign
            float e = (float) Math.exp(-Math.abs(v));
            out.setAtIndex(F, i, v >= 0f ? 1f / (1f + e) : e / (1f + e));
        }
    }

    /** {@code dx[i] = dout[i] * out[i] * (1 - out[i])} for i in [0, n), from the sigmoid's output. */
    public static void sigmoidBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        for (int i = 0; i < n; i++) {
            float s = out.getAtIndex(F, i);
            dx.setAtIndex(F, i, dout.getAtIndex(F, i) * s * (1f - s));
        }
    }

    // ------------------------------------------------------------------ vector arithmetic

    /** {@code y[i] += alpha * x[i]} for i in [0, n) (BLAS axpy). */
    public static void axpy(float alpha, MemorySegment x, MemorySegment y, int n) {
        weightedSum(alpha, x, 1f, y, y, 0, n); // alpha x + 1 y: y + alpha x to the bit
    }

    /**
     * {@code out[i] = a * x[i] + b * y[i]} for i in [from, to) (indices into all three); out may be
     * x or y (data-parallel replicas' gradients, summed in shares without slicing).
     */
    public static void weightedSum(float a, MemorySegment x, float b, MemorySegment y, MemorySegment out, long from, long to) {
        Scratch t = SCRATCH.get();
        float[] u = t.a, v = t.b;
        for (long s = from; s < to; s += CHUNK) {
            int len = (int) Math.min(CHUNK, to - s);
            long at = s * Float.BYTES;
            MemorySegment.copy(x, F, at, u, 0, len);
            MemorySegment.copy(y, F, at, v, 0, len);
            for (int i = 0; i < len; i++) u[i] = a * u[i] + b * v[i];
            MemorySegment.copy(u, 0, out, F, at, len);
        }
    }

    /** {@code out[i] = a[i] + b[i]} for i in [0, n); out may be a or b (a residual connection's sum). */
    public static void add(MemorySegment a, MemorySegment b, MemorySegment out, int n) {
        weightedSum(1f, a, 1f, b, out, 0, n); // 1 a + 1 b: a + b to the bit
    }

    /** {@code sum(x[i]^2)} over i in [0, n), accumulated in double. */
    public static double sumOfSquares(MemorySegment x, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            float v = x.getAtIndex(F, i);
            s += v * v;
        }
        return s;
    }

    /** {@code m[r, j] += row[j]} for every row r of the (rows, cols) matrix m: a bias added to each row. */
    public static void addToRows(MemorySegment m, MemorySegment row, int rows, int cols) {
        Scratch t = SCRATCH.get();
        float[] a = t.a, bias = t.b;
        for (int j0 = 0; j0 < cols; j0 += CHUNK) { // columns in chunks, each chunk of the row once
            int len = Math.min(CHUNK, cols - j0);
            MemorySegment.copy(row, F, (long) j0 * Float.BYTES, bias, 0, len);
            for (int r = 0; r < rows; r++) {
                long at = ((long) r * cols + j0) * Float.BYTES;
                MemorySegment.copy(m, F, at, a, 0, len);
                for (int j = 0; j < len; j++) a[j] = a[j] + bias[j];
                MemorySegment.copy(a, 0, m, F, at, len);
            }
        }
    }

    /** {@code dst[j] = sum over r of m[r, j]} for the (rows, cols) matrix m: a bias gradient. */
    public static void columnSums(MemorySegment m, int rows, int cols, MemorySegment dst) {
        Scratch t = SCRATCH.get();
        float[] a = t.a, sum = t.b;
        for (int j0 = 0; j0 < cols; j0 += CHUNK) { // each column summed from 0 over the rows in order
            int len = Math.min(CHUNK, cols - j0);
            java.util.Arrays.fill(sum, 0, len, 0f);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(m, F, ((long) r * cols + j0) * Float.BYTES, a, 0, len);
                for (int j = 0; j < len; j++) sum[j] = sum[j] + a[j];
            }
            MemorySegment.copy(sum, 0, dst, F, (long) j0 * Float.BYTES, len);
        }
    }

    /**
     * The index of the largest value of each of the first {@code rows} rows of the (rows, cols)
     * matrix m, into {@code dst[offset ..]}: the first one on ties; a NaN is never the largest
     * unless it is in column 0.
     */
    public static void argmaxRows(MemorySegment m, int rows, int cols, int[] dst, int offset) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            int arg = 0;
            float max = m.getAtIndex(F, base);
            for (int j = 1; j < cols; j++) {
                float v = m.getAtIndex(F, base + j);
                if (v > max) {
                    max = v;
                    arg = j;
                }
            }
            dst[offset + r] = arg;
        }
    }
}
