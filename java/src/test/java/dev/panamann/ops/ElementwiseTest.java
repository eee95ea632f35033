package dev.panamann.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The shared elementwise loops against values worked out by hand. */
class ElementwiseTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Test
    void reluAndItsGradient() {
        try (Tensor x = Tensor.of(new float[] {-2, 0, 3, -0.5f, 7}, 5); Tensor out = Tensor.zeros(5);
             Tensor dout = Tensor.of(new float[] {1, 2, 3, 4, 5}, 5); Tensor dx = Tensor.full(9f, 5)) {
            Elementwise.relu(x.segment(), out.segment(), 5);
            assertArrayEquals(new float[] {0, 0, 3, 0, 7}, out.toArray());
            Elementwise.reluBackward(out.segment(), dout.segment(), dx.segment(), 5);
            assertArrayEquals(new float[] {0, 0, 3, 0, 5}, dx.toArray());
            Elementwise.relu(x.segment(), x.segment(), 5);
            assertArrayEquals(new float[] {0, 0, 3, 0, 7}, x.toArray(), "in place");
        }
    }

    @Test
    void sigmoidStaysFiniteAndItsGradientUsesTheOutput() {
        try (Tensor x = Tensor.of(new float[] {0, 1000, -1000, 2}, 4); Tensor out = Tensor.zeros(4);
             Tensor dout = Tensor.full(2f, 4); Tensor dx = Tensor.zeros(4)) {
            Elementwise.sigmoid(x.segment(), out.segment(), 4);
            float s2 = (float) (1 / (1 + Math.exp(-2)));
            assertArrayEquals(new float[] {0.5f, 1f, 0f, s2}, out.toArray(), 1e-7f);
            Elementwise.sigmoidBackward(out.segment(), dout.segment(), dx.segment(), 4);
            assertArrayEquals(new float[] {0.5f, 0f, 0f, 2 * s2 * (1 - s2)}, dx.toArray(), 1e-6f);  // float rounding of the product order
        }
    }

    @Test
    void axpySumsRowsAndColumns() {
        try (Tensor x = Tensor.of(new float[] {1, 2, 3}, 3); Tensor y = Tensor.of(new float[] {10, 20, 30}, 3)) {
            Elementwise.axpy(-2f, x.segment(), y.segment(), 3);
            assertArrayEquals(new float[] {8, 16, 24}, y.toArray());
            assertEquals(14.0, Elementwise.sumOfSquares(x.segment(), 3));
        }
        try (Tensor m = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3); Tensor b = Tensor.of(new float[] {10, 20, 30}, 3);
             Tensor sums = Tensor.full(99f, 3)) {
            Elementwise.columnSums(m.segment(), 2, 3, sums.segment());
            assertArrayEquals(new float[] {5, 7, 9}, sums.toArray(), "overwrites what was there");
            Elementwise.addToRows(m.segment(), b.segment(), 2, 3);
            assertArrayEquals(new float[] {11, 22, 33, 14, 25, 36}, m.toArray());
        }
    }

    @Test
    void argmaxOfRowsTakesTheFirstOnTies() {
        try (Tensor m = Tensor.of(new float[] {1, 5, 5, 0, /**/ 7, 1, 2, 3, /**/ Float.NaN, 1, 2, 0, /**/ 0, Float.NaN, -1, 4}, 4, 4)) {
            int[] dst = {-1, -1, -1, -1, -1, -1};
            Elementwise.argmaxRows(m.segment(), 4, 4, dst, 1);
            assertArrayEquals(new int[] {-1, 1, 0, 0, 3, -1}, dst);
        }
    }

    @Test
    void weightedSumCoversItsRangeOnlyAndMayWriteOverAnInput() {
        try (Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5}, 5); Tensor y = Tensor.of(new float[] {10, 20, 30, 40, 50}, 5);
             Tensor out = Tensor.full(-1f, 5)) {
            Elementwise.weightedSum(0.5f, x.segment(), 0.25f, y.segment(), out.segment(), 1, 4);
            assertArrayEquals(new float[] {-1, 6, 9, 12, -1}, out.toArray());
            Elementwise.weightedSum(1f, x.segment(), 2f, y.segment(), x.segment(), 0, 5); // into x itself
            assertArrayEquals(new float[] {21, 42, 63, 84, 105}, x.toArray());
        }
    }

    /**
     * The Vector API loops (the suite runs with {@code jdk.incubator.vector}) against the scalar
     * loops, bit for bit (a NaN for a NaN): lengths around the vector width (whole vectors and tails), views at odd
     * float offsets, in place, and the awkward values (NaN, both zeros, subnormals, infinities).
     */
    @Test
    void vectorLoopsMatchTheScalarLoopsToTheBit() {
        ElementwiseLoops vector = ElementwiseLoops.fromSettings();
        ElementwiseLoops scalar = ElementwiseLoops.Scalar.INSTANCE;
        assertTrue(vector.name().startsWith("vector ("), "the suite runs with the Vector API: " + vector.name());
        assertEquals(vector.name(), Elementwise.loopsName());
        java.util.Random rnd = new java.util.Random(7);
        float[] odd = {Float.NaN, -0f, 0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, -1e-40f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0xffc00001)}; // the last a NaN with its sign bit set
        try (Arena arena = Arena.ofConfined()) {
            for (int n : new int[] {1, 7, 15, 16, 17, 31, 33, 100, 257}) {
                for (int offset : new int[] {0, 3}) {
                    MemorySegment[] in = new MemorySegment[3];
                    for (int k = 0; k < 3; k++) {
                        in[k] = arena.allocate((long) (n + offset) * 4 * 2, 64).asSlice((long) offset * 4);
                        for (int i = 0; i < 2 * n; i++) {
                            float v = rnd.nextInt(4) == 0 ? odd[rnd.nextInt(odd.length)] : (float) rnd.nextGaussian();
                            in[k].setAtIndex(F, i, v);
                        }
                    }
                    String at = "n " + n + ", offset " + offset;
                    // With denormals-are-zero on the thread (the native backend sets it; whether a test
                    // that made one ran before decides), the scalar Math.max may return a negative
                    // subnormal input itself and the vector max +0: both zero to the CPU then.
                    both(arena, in, 2 * n, true, at + ": relu", (l, s) -> l.relu(s[0], s[3], n));
                    both(arena, in, 2 * n, true, at + ": relu in place", (l, s) -> l.relu(s[0], s[0], n));
                    both(arena, in, 2 * n, at + ": relu backward", (l, s) -> {
                        for (int i = 0; i < n; i++) { // a forward's out: +0, positive or NaN
                            float v = s[0].getAtIndex(F, i);
                            s[0].setAtIndex(F, i, v > 0 || Float.isNaN(v) ? v : 0f);
                        }
                        l.reluBackward(s[0], s[1], s[3], n);
                    });
                    both(arena, in, 2 * n, at + ": relu backward, any out", (l, s) -> l.reluBackward(s[0], s[1], s[1], n));
                    both(arena, in, 2 * n, at + ": axpy", (l, s) -> l.axpy(-0.37f, s[0], s[1], n));
                    both(arena, in, 2 * n, at + ": weighted sum", (l, s) -> l.weightedSum(0.3f, s[0], 0.7f, s[1], s[2], 1, n));
                    both(arena, in, 2 * n, at + ": weighted sum into x", (l, s) -> l.weightedSum(1f, s[0], 0.5f, s[1], s[0], 0, n));
                    both(arena, in, 2 * n, at + ": add", (l, s) -> l.add(s[0], s[1], s[0], n));
                    both(arena, in, 2 * n, at + ": rows", (l, s) -> l.addToRows(s[0], s[1], 2, n));
                    both(arena, in, 2 * n, at + ": column sums", (l, s) -> l.columnSums(s[0], 2, n, s[3]));
                }
            }
        }
    }

    private interface LoopCall {
        void run(ElementwiseLoops loops, MemorySegment[] segments);
    }

    /** Runs {@code call} with each loop set on its own copy of the inputs and compares every output bit. */
    private static void both(Arena arena, MemorySegment[] in, int floats, String what, LoopCall call) {
        both(arena, in, floats, false, what, call);
    }

    /** @param zeros whether a +0, -0 or subnormal counts as equal to any other of them */
    private static void both(Arena arena, MemorySegment[] in, int floats, boolean zeros, String what, LoopCall call) {
        MemorySegment[][] copies = new MemorySegment[2][4];
        ElementwiseLoops[] loops = {ElementwiseLoops.Scalar.INSTANCE, ElementwiseLoops.fromSettings()};
        for (int c = 0; c < 2; c++) {
            for (int k = 0; k < 4; k++) {
                copies[c][k] = arena.allocate((long) floats * 4 + 4, 4).asSlice(4); // another alignment than the inputs
                if (k < 3) copies[c][k].copyFrom(in[k].asSlice(0, (long) floats * 4));
                else copies[c][k].fill((byte) 0x7f);
            }
            call.run(loops[c], copies[c]);
        }
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < floats; i++) {
                // floatToIntBits: every NaN is one value (which NaN payload an operation passes on is the CPU's choice)
                int a = Float.floatToIntBits(copies[0][k].getAtIndex(F, i)), b = Float.floatToIntBits(copies[1][k].getAtIndex(F, i));
                boolean bothZero = Math.abs(Float.intBitsToFloat(a)) < Float.MIN_NORMAL && Math.abs(Float.intBitsToFloat(b)) < Float.MIN_NORMAL;
                if (a != b && !(zeros && bothZero)) {
                    throw new AssertionError(what + ": segment " + k + " element " + i + " is " + Float.intBitsToFloat(b) + " (bits "
                            + Integer.toHexString(b) + ") on the vector loops, " + Float.intBitsToFloat(a) + " (bits " + Integer.toHexString(a)
                            + ") on the scalar ones");
                }
            }
        }
    }
}
