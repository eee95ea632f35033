package dev.panamann.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
     * The chunked loops against plain loops over the segments (their definition), bit for bit (a
     * NaN for a NaN): lengths around the chunk size (whole chunks and a rest), views at odd float
     * offsets, in place, and the awkward values (NaN, both zeros, subnormals, infinities).
     */
    @Test
    void chunkedLoopsMatchPlainLoopsToTheBit() {
        java.util.Random rnd = new java.util.Random(7);
        float[] odd = {Float.NaN, -0f, 0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, -1e-40f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0xffc00001)}; // the last a NaN with its sign bit set
        int c = Elementwise.CHUNK;
        try (Arena arena = Arena.ofConfined()) {
            for (int n : new int[] {1, 17, c - 1, c, c + 1, 2 * c + 5}) {
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
                    // that made one ran before decides), Math.max of a negative subnormal and 0 may
                    // give either one depending on how it is compiled: zeros and subnormals match then.
                    both(arena, in, 2 * n, true, at + ": relu", s -> Elementwise.relu(s[0], s[3], n), s -> {
                        for (int i = 0; i < n; i++) s[3].setAtIndex(F, i, Math.max(s[0].getAtIndex(F, i), 0f));
                    });
                    both(arena, in, 2 * n, true, at + ": relu in place", s -> Elementwise.relu(s[0], s[0], n), s -> {
                        for (int i = 0; i < n; i++) s[0].setAtIndex(F, i, Math.max(s[0].getAtIndex(F, i), 0f));
                    });
                    both(arena, in, 2 * n, at + ": relu backward", s -> Elementwise.reluBackward(s[0], s[1], s[1], n), s -> {
                        for (int i = 0; i < n; i++) {
                            int bits = Float.floatToRawIntBits(s[0].getAtIndex(F, i));
                            s[1].setAtIndex(F, i, bits == 0 ? 0f : s[1].getAtIndex(F, i));
                        }
                    });
                    both(arena, in, 2 * n, at + ": axpy", s -> Elementwise.axpy(-0.37f, s[0], s[1], n), s -> {
                        for (int i = 0; i < n; i++) s[1].setAtIndex(F, i, s[1].getAtIndex(F, i) + -0.37f * s[0].getAtIndex(F, i));
                    });
                    both(arena, in, 2 * n, at + ": weighted sum", s -> Elementwise.weightedSum(0.3f, s[0], 0.7f, s[1], s[0], 1, n), s -> {
                        for (int i = 1; i < n; i++) s[0].setAtIndex(F, i, 0.3f * s[0].getAtIndex(F, i) + 0.7f * s[1].getAtIndex(F, i));
                    });
                    both(arena, in, 2 * n, at + ": add", s -> Elementwise.add(s[0], s[1], s[1], n), s -> {
                        for (int i = 0; i < n; i++) s[1].setAtIndex(F, i, s[0].getAtIndex(F, i) + s[1].getAtIndex(F, i));
                    });
                    both(arena, in, 2 * n, at + ": rows", s -> Elementwise.addToRows(s[0], s[1], 2, n), s -> {
                        for (int i = 0; i < 2 * n; i++) s[0].setAtIndex(F, i, s[0].getAtIndex(F, i) + s[1].getAtIndex(F, i % n));
                    });
                    both(arena, in, 2 * n, at + ": column sums", s -> Elementwise.columnSums(s[0], 2, n, s[3]), s -> {
                        for (int j = 0; j < n; j++) s[3].setAtIndex(F, j, (0f + s[0].getAtIndex(F, j)) + s[0].getAtIndex(F, n + j));
                    });
                }
            }
        }
    }

    /** Runs the library's loop and the plain one on copies of the inputs and compares every output bit. */
    private static void both(Arena arena, MemorySegment[] in, int floats, String what,
                             java.util.function.Consumer<MemorySegment[]> library, java.util.function.Consumer<MemorySegment[]> plain) {
        both(arena, in, floats, false, what, library, plain);
    }

    /** @param zeros whether +0, -0 and the subnormals count as equal to each other */
    private static void both(Arena arena, MemorySegment[] in, int floats, boolean zeros, String what,
                             java.util.function.Consumer<MemorySegment[]> library, java.util.function.Consumer<MemorySegment[]> plain) {
        MemorySegment[][] copies = new MemorySegment[2][4];
        for (int c = 0; c < 2; c++) {
            for (int k = 0; k < 4; k++) {
                copies[c][k] = arena.allocate((long) floats * 4 + 4, 4).asSlice(4); // another alignment than the inputs
                if (k < 3) copies[c][k].copyFrom(in[k].asSlice(0, (long) floats * 4));
                else copies[c][k].fill((byte) 0x7f);
            }
            (c == 0 ? plain : library).accept(copies[c]);
        }
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < floats; i++) {
                // floatToIntBits: every NaN is one value (which NaN payload an operation passes on is the CPU's choice)
                int a = Float.floatToIntBits(copies[0][k].getAtIndex(F, i)), b = Float.floatToIntBits(copies[1][k].getAtIndex(F, i));
                boolean bothTiny = Math.abs(Float.intBitsToFloat(a)) < Float.MIN_NORMAL && Math.abs(Float.intBitsToFloat(b)) < Float.MIN_NORMAL;
                if (a != b && !(zeros && bothTiny)) {
                    throw new AssertionError(what + ": segment " + k + " element " + i + " is " + Float.intBitsToFloat(b) + " (bits "
                            + Integer.toHexString(b) + ") from the library's loop, " + Float.intBitsToFloat(a) + " (bits "
                            + Integer.toHexString(a) + ") from a plain loop");
                }
            }
        }
    }
}
