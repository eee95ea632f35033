package dev.panamann.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Vector API loops of {@link Elementwise} against its scalar loops, to the bit (a NaN only
 * has to be a NaN: Java leaves the payload of an arithmetic result unspecified): sizes around
 * the vector width (the scalar tails), views at odd float offsets, and NaN, signed zeros,
 * infinities and subnormals (where the thread does not flush them) in the data.
 */
class ElementwiseLoopsTest {
    private static final ElementwiseLoops VECTOR = ElementwiseLoops.vector();
    private static final int L = Integer.parseInt(VECTOR.name().replaceAll("\\D", ""));
    private static final float[] NORMAL_SPECIAL = {Float.NaN, Float.intBitsToFloat(0x7fc00123), -0f, 0f,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -Float.MAX_VALUE};
    private static final float[] SUBNORMAL = {Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, -1e-40f};

    /**
     * The special values, with subnormals unless this thread flushes them (FTZ/DAZ, set by the
     * native backend on the threads it runs on: compiled code then reads them as 0, the
     * interpreter's scalar loop not always, so no loop pair can agree on them).
     */
    private static float[] special() {
        if (Denormals.isFlushing()) return NORMAL_SPECIAL;
        float[] all = java.util.Arrays.copyOf(NORMAL_SPECIAL, NORMAL_SPECIAL.length + SUBNORMAL.length);
        System.arraycopy(SUBNORMAL, 0, all, NORMAL_SPECIAL.length, SUBNORMAL.length);
        return all;
    }

    /** Sizes around whole vectors: none, tails only, one vector, vectors plus tails. */
    private static int[] sizes() {
        return new int[] {0, 1, L - 1, L, L + 1, 2 * L + 3, 7 * L - 1, 1003};
    }

    /** n random values with every special value at random places. */
    private static float[] data(Random rnd, int n) {
        float[] v = new float[n], special = special();
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian() * 3;
        for (int i = 0; i < n / 3; i++) v[rnd.nextInt(n)] = special[rnd.nextInt(special.length)];
        return v;
    }

    /** A 1-D view of {@code v} starting at float offset {@code offset} of a larger tensor. */
    private static Tensor view(Tensor whole, int offset, int n) {
        return whole.slice(offset, offset + n);
    }

    /** The first n values of both tensors have the same bits, or are both NaN. */
    private static void assertSameBits(Tensor expected, Tensor actual, int n, String what) {
        float[] e = expected.toArray(), a = actual.toArray();
        for (int i = 0; i < n; i++) {
            int eb = Float.floatToIntBits(e[i]), ab = Float.floatToIntBits(a[i]); // raw bits, NaNs made one

            if (eb != ab) throw new AssertionError(what + ": element " + i + " is " + a[i] + " (bits " + Integer.toHexString(ab)
                    + "), the scalar loop gives " + e[i] + " (bits " + Integer.toHexString(eb) + ")");
        }
    }

    @Test
    void theSelectionFollowsTheSetting() {
        assertTrue(VECTOR.name().startsWith("vector ("), VECTOR.name());
        // the test JVM runs with jdk.incubator.vector, so the default (auto) takes the Vector API
        if (System.getProperty("panamann.java.vector") == null && System.getenv("PANAMANN_JAVA_VECTOR") == null) {
            assertEquals(VECTOR.name(), Elementwise.loopsName());
        }
        String before = System.getProperty("panamann.java.vector");
        try {
            System.setProperty("panamann.java.vector", "off");
            assertNull(ElementwiseLoops.fromSettings());
            System.setProperty("panamann.java.vector", "bogus");
            assertNull(ElementwiseLoops.fromSettings(), "an unusable setting leaves the scalar loops");
            System.setProperty("panamann.java.vector", "auto");
            assertEquals(VECTOR.name(), ElementwiseLoops.fromSettings().name());
        } finally {
            if (before == null) System.clearProperty("panamann.java.vector");
            else System.setProperty("panamann.java.vector", before);
        }
    }

    @Test
    void reluAndItsGradientGiveTheScalarBits() {
        Random rnd = new Random(1);
        for (int n : sizes()) {
            for (int offset : new int[] {0, 3}) {
                float[] x = data(rnd, n + offset), dout = data(rnd, n + offset), out = data(rnd, n + offset);
                try (Tensor xw = Tensor.of(x, n + offset); Tensor doutw = Tensor.of(dout, n + offset);
                     Tensor outw = Tensor.of(out, n + offset);
                     Tensor s = Tensor.zeros(Math.max(n, 1)); Tensor v = Tensor.full(5f, Math.max(n, 1))) {
                    String at = "n " + n + " at offset " + offset;
                    MemorySegment xs = view(xw, offset, n).segment(), ds = view(doutw, offset, n).segment();
                    Elementwise.scalarRelu(xs, s.segment(), 0, n);
                    VECTOR.relu(xs, v.segment(), n);
                    assertSameBits(s, v, n, "relu, " + at);
                    // the gradient from outputs with NaN, -0 and +0 in them, not only relu's
                    MemorySegment os = view(outw, offset, n).segment();
                    Elementwise.scalarReluBackward(os, ds, s.segment(), 0, n);
                    VECTOR.reluBackward(os, ds, v.segment(), n);
                    assertSameBits(s, v, n, "reluBackward, " + at);
                    // in place, as the layers call it
                    try (Tensor copy = Tensor.of(view(xw, offset, n).toArray(), n)) {
                        VECTOR.relu(xs, xs, n);
                        Elementwise.scalarRelu(copy.segment(), copy.segment(), 0, n);
                        assertSameBits(copy, view(xw, offset, n), n, "in place, " + at);
                    }
                }
            }
        }
    }

    @Test
    void reluKeepsNanAndMakesNegativeZeroPositive() {
        try (Tensor x = Tensor.full(-0f, 2 * L + 1); Tensor out = Tensor.zeros(2 * L + 1); Tensor dout = Tensor.full(2f, 2 * L + 1);
             Tensor dx = Tensor.zeros(2 * L + 1)) {
            x.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 1, Float.NaN);
            VECTOR.relu(x.segment(), out.segment(), 2 * L + 1);
            float[] o = out.toArray();
            for (int i = 0; i < o.length; i++) {
                if (i == 1) assertTrue(Float.isNaN(o[i]), "NaN stays NaN");
                else assertEquals(0, Float.floatToRawIntBits(o[i]), "relu(-0) is +0 at " + i);
            }
            VECTOR.reluBackward(out.segment(), dout.segment(), dx.segment(), 2 * L + 1);
            float[] d = dx.toArray();
            for (int i = 0; i < d.length; i++) assertEquals(i == 1 ? 2f : 0f, d[i], "gradient at " + i);
        }
    }

    @Test
    void biasAddAndColumnSumsGiveTheScalarBits() {
        Random rnd = new Random(2);
        for (int rows : new int[] {1, 3, 64}) {
            for (int cols : new int[] {1, L - 1, L, L + 1, 2 * L + 3, 300}) {
                for (int offset : new int[] {0, 1}) {
                    int size = rows * cols;
                    String at = rows + "x" + cols + " at offset " + offset;
                    float[] m = data(rnd, size + offset), row = data(rnd, cols + offset);
                    if (rows == 64) { // sums of ordinary values too, not only NaN and infinities
                        for (int i = 0; i < m.length; i++) m[i] = (float) rnd.nextGaussian();
                    }
                    try (Tensor ms = Tensor.of(m, size + offset); Tensor mv = Tensor.of(m, size + offset);
                         Tensor bias = Tensor.of(row, cols + offset); Tensor s = Tensor.full(7f, cols); Tensor v = Tensor.full(-7f, cols)) {
                        Elementwise.scalarColumnSums(view(ms, offset, size).segment(), rows, cols, 0, s.segment());
                        VECTOR.columnSums(view(mv, offset, size).segment(), rows, cols, v.segment());
                        assertSameBits(s, v, cols, "columnSums, " + at);
                        if (rows == 64) {
                            float[] got = v.toArray();
                            for (int j = 0; j < cols; j++) {
                                double sum = 0, abs = 0;
                                for (int r = 0; r < rows; r++) {
                                    sum += m[offset + r * cols + j];
                                    abs += Math.abs(m[offset + r * cols + j]);
                                }
                                // float sums of 64 values in order: within 64 roundings of the sum of magnitudes
                                assertEquals(sum, got[j], 64 * Math.ulp((float) abs), "column " + j + ", " + at);
                            }
                        }
                        Elementwise.scalarAddToRows(view(ms, offset, size).segment(), view(bias, offset, cols).segment(), rows,
                                cols, 0);
                        VECTOR.addToRows(view(mv, offset, size).segment(), view(bias, offset, cols).segment(), rows, cols);
                        assertSameBits(ms, mv, size + offset, "addToRows, " + at);
                    }
                }
            }
        }
    }
}
