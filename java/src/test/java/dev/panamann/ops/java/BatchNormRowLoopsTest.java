package dev.panamann.ops.java;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Vector API batch-norm row loops (the suite runs with {@code jdk.incubator.vector}) against
 * the scalar loops, bit for bit (a NaN for a NaN): channel counts around the vector width, views
 * at an odd float offset, and awkward values among the data.
 */
class BatchNormRowLoopsTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Test
    void vectorLoopsMatchTheScalarLoopsToTheBit() {
        BatchNormRowLoops vector = BatchNormRowLoops.fromSettings(), scalar = BatchNormRowLoops.Scalar.INSTANCE;
        assertNotSame(scalar, vector, "the suite runs with the Vector API");
        Random rnd = new Random(11);
        float[] odd = {Float.NaN, -0f, 0f, Float.MIN_VALUE, 1e-40f, Float.POSITIVE_INFINITY, 3e38f, -3e38f};
        try (Arena arena = Arena.ofConfined()) {
            for (int c : new int[] {1, 5, 16, 17, 40, 100}) {
                int n = 3 + rnd.nextInt(5);
                MemorySegment x = data(arena, n * c, rnd, odd), dout = data(arena, n * c, rnd, odd);
                float[] mu = floats(c, rnd), scale = floats(c, rnd), shift = floats(c, rnd), k = floats(c, rnd);
                float[] invStd = floats(c, rnd), sd0 = floats(c, rnd), sdx0 = floats(c, rnd);
                String at = "n " + n + ", c " + c;
                float[][] r = new float[2][];
                for (int v = 0; v < 2; v++) {
                    BatchNormRowLoops loops = v == 0 ? scalar : vector;
                    float[] s1 = sd0.clone(), s2 = sdx0.clone(), sd = sd0.clone(), sdx = sdx0.clone();
                    MemorySegment out = arena.allocate((long) n * c * 4 + 4).asSlice(4), dx = arena.allocate((long) n * c * 4 + 8).asSlice(8);
                    loops.sums(x, n, c, s1);
                    loops.squaredDeviations(x, n, c, mu, s2);
                    loops.normalize(x, out, n, c, mu, scale, shift);
                    loops.gradientSums(x, dout, n, c, mu, sd, sdx);
                    loops.inputGradient(x, dout, dx, n, c, 200f, mu, invStd, k, sd, sdx);
                    float[] all = new float[4 * c + 2 * n * c];
                    System.arraycopy(s1, 0, all, 0, c);
                    System.arraycopy(s2, 0, all, c, c);
                    System.arraycopy(sd, 0, all, 2 * c, c);
                    System.arraycopy(sdx, 0, all, 3 * c, c);
                    MemorySegment.copy(out, F, 0, all, 4 * c, n * c);
                    MemorySegment.copy(dx, F, 0, all, 4 * c + n * c, n * c);
                    r[v] = all;
                }
                // Arrays.equals on floats compares floatToIntBits: every NaN is one value
                assertTrue(Arrays.equals(r[0], r[1]), at + ": the vector loops differ from the scalar ones at index "
                        + Arrays.mismatch(r[0], r[1]) + " (sums, squared deviations, gradient sums, 4 x c values; then out, dx)");
            }
        }
    }

    private static MemorySegment data(Arena arena, int floats, Random rnd, float[] odd) {
        MemorySegment s = arena.allocate((long) floats * 4 + 12).asSlice(12); // an odd float offset
        for (int i = 0; i < floats; i++) s.setAtIndex(F, i, rnd.nextInt(8) == 0 ? odd[rnd.nextInt(odd.length)] : (float) rnd.nextGaussian());
        return s;
    }

    private static float[] floats(int c, Random rnd) {
        float[] a = new float[c];
        for (int i = 0; i < c; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }
}
