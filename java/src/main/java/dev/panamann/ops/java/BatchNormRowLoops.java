package dev.panamann.ops.java;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The loops of batch normalization over (N, C) rows ({@link JavaBatchNormOp#rows}, the
 * batch-norm MLP's layers): each runs along a row's contiguous channels, one row after another,
 * so every channel's sum takes the rows in order. Two versions, selected like the gemm kernel
 * ({@link GemmKernel#fromSettings}): {@link Scalar}, and one on the Vector API loaded by name
 * when {@code jdk.incubator.vector} is present, whose lanes are channels and do each channel's
 * float arithmetic as the scalar loop does (separate multiplies and adds): the same results to
 * the bit (NaN payloads aside).
 */
interface BatchNormRowLoops {
    ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** {@code s1[ch] += x[i, ch]} over the rows i in order. */
    void sums(MemorySegment x, int n, int c, float[] s1);

    /** {@code s2[ch] += (x[i, ch] - mu[ch])^2} over the rows in order. */
    void squaredDeviations(MemorySegment x, int n, int c, float[] mu, float[] s2);

    /** {@code out[i, ch] = (x[i, ch] - mu[ch]) * scale[ch] + shift[ch]}. */
    void normalize(MemorySegment x, MemorySegment out, int n, int c, float[] mu, float[] scale, float[] shift);

    /** {@code sd[ch] += dout[i, ch]; sdx[ch] += dout[i, ch] * (x[i, ch] - mu[ch])} over the rows in order. */
    void gradientSums(MemorySegment x, MemorySegment dout, int n, int c, float[] mu, float[] sd, float[] sdx);

    /** {@code dx[i, ch] = k[ch] * (m * dout[i, ch] - sd[ch] - (x[i, ch] - mu[ch]) * invStd[ch] * sdx[ch])}. */
    void inputGradient(MemorySegment x, MemorySegment dout, MemorySegment dx, int n, int c, float m, float[] mu,
                       float[] invStd, float[] k, float[] sd, float[] sdx);

    /** The loops the settings ask for: the Vector API ones when the gemm kernel is the vector one. */
    static BatchNormRowLoops fromSettings() {
        GemmKernel kernel;
        try {
            kernel = GemmKernel.fromSettings();
        } catch (IllegalArgumentException e) {
            return Scalar.INSTANCE; // the setting's error is reported where the kernel is made
        }
        if (!kernel.name().startsWith("vector")) return Scalar.INSTANCE;
        try {
            return (BatchNormRowLoops) Class.forName("dev.panamann.ops.java.VectorBatchNormRowLoops").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("cannot load the Vector API batch-norm loops: " + e, e);
        }
    }

    /** The plain loops: the definition, and the fallback without the Vector API. */
    final class Scalar implements BatchNormRowLoops {
        static final Scalar INSTANCE = new Scalar();

        private Scalar() {}

        @Override
        public void sums(MemorySegment x, int n, int c, float[] s1) {
            for (int i = 0; i < n; i++) {
                long base = (long) i * c;
                for (int ch = 0; ch < c; ch++) s1[ch] += x.getAtIndex(F, base + ch);
            }
        }

        @Override
        public void squaredDeviations(MemorySegment x, int n, int c, float[] mu, float[] s2) {
            for (int i = 0; i < n; i++) {
                long base = (long) i * c;
                for (int ch = 0; ch < c; ch++) {
                    float d = x.getAtIndex(F, base + ch) - mu[ch];
                    s2[ch] += d * d;
                }
            }
        }

        @Override
        public void normalize(MemorySegment x, MemorySegment out, int n, int c, float[] mu, float[] scale, float[] shift) {
            for (int i = 0; i < n; i++) {
                long base = (long) i * c;
                for (int ch = 0; ch < c; ch++) {
                    out.setAtIndex(F, base + ch, (x.getAtIndex(F, base + ch) - mu[ch]) * scale[ch] + shift[ch]);
                }
            }
        }

        @Override
        public void gradientSums(MemorySegment x, MemorySegment dout, int n, int c, float[] mu, float[] sd, float[] sdx) {
            for (int i = 0; i < n; i++) {
                long base = (long) i * c;
                for (int ch = 0; ch < c; ch++) {
                    float d = dout.getAtIndex(F, base + ch);
                    sd[ch] += d;
                    sdx[ch] += d * (x.getAtIndex(F, base + ch) - mu[ch]);
                }
            }
        }

        @Override
        public void inputGradient(MemorySegment x, MemorySegment dout, MemorySegment dx, int n, int c, float m, float[] mu,
                                  float[] invStd, float[] k, float[] sd, float[] sdx) {
            for (int i = 0; i < n; i++) {
                long base = (long) i * c;
                for (int ch = 0; ch < c; ch++) {
                    float xhat = (x.getAtIndex(F, base + ch) - mu[ch]) * invStd[ch];
                    dx.setAtIndex(F, base + ch, k[ch] * (m * dout.getAtIndex(F, base + ch) - sd[ch] - xhat * sdx[ch]));
                }
            }
        }
    }
}
