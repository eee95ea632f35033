package dev.panamann.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Rng;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ToyDataTest {

    @Test
    void spiralShapesBalanceAndRadii() {
        int n = 100, k = 3;
        try (Dataset d = ToyData.spiral(n, k, new Rng(0))) {
            assertArrayEquals(new int[] {n * k, 2}, d.x().shape());
            int[] counts = new int[k];
            for (int v : d.y()) counts[v]++;
            assertArrayEquals(new int[] {n, n, n}, counts);
            assertEquals(k, d.numClasses());
            float[] x = d.x().toArray();
            for (int j = 0; j < k; j++) {
                for (int i = 0; i < n; i++) {
                    int p = j * n + i;
                    assertEquals(j, d.y()[p]);
                    // r = linspace(0, 1, n)[i]; the noise only moves the angle
                    double r = Math.hypot(x[2 * p], x[2 * p + 1]);
                    assertEquals((double) i / (n - 1), r, 1e-6, "radius of point " + p);
                }
            }
            // the angle stays near linspace(4j, 4(j+1)): last point of class 1 near t = 8 (noise 0.2)
            int p = 2 * n - 1;
            double t = Math.atan2(x[2 * p], x[2 * p + 1]);   // sin t, cos t
            double diff = Math.IEEEremainder(t - 8, 2 * Math.PI);
            assertTrue(Math.abs(diff) < 1.0, "angle " + t);
        }
    }

    @Test
    void spiralIsDeterministicPerSeed() {
        try (Dataset a = ToyData.spiral(50, 4, new Rng(7));
             Dataset b = ToyData.spiral(50, 4, new Rng(7));
             Dataset c = ToyData.spiral(50, 4, new Rng(8))) {
            assertArrayEquals(a.x().toArray(), b.x().toArray());
            assertArrayEquals(a.y(), b.y());
            assertFalse(Arrays.equals(a.x().toArray(), c.x().toArray()));
        }
        try (Dataset clean = ToyData.spiral(5, 2, 0.0, new Rng(1)); Dataset clean2 = ToyData.spiral(5, 2, 0.0, new Rng(2))) {
            assertArrayEquals(clean.x().toArray(), clean2.x().toArray());   // no noise: the seed does not matter
        }
        assertThrows(IllegalArgumentException.class, () -> ToyData.spiral(0, 3, new Rng(1)));
    }

    @Test
    void noisySineLabelsFollowTheCurve() {
        try (Dataset d = ToyData.noisySine(2000, 0.0, new Rng(3))) {
            assertArrayEquals(new int[] {2000, 2}, d.x().shape());
            float[] x = d.x().toArray();
            int ones = 0;
            for (int i = 0; i < 2000; i++) {
                assertTrue(x[2 * i] >= -Math.PI && x[2 * i] <= Math.PI && Math.abs(x[2 * i + 1]) <= 2);
                assertEquals(x[2 * i + 1] > Math.sin(x[2 * i]) ? 1 : 0, d.y()[i], "point " + i);
                ones += d.y()[i];
            }
            assertTrue(ones > 900 && ones < 1100, "class balance " + ones);
        }
        try (Dataset a = ToyData.noisySine(300, 0.3, new Rng(4)); Dataset b = ToyData.noisySine(300, 0.3, new Rng(4))) {
            assertArrayEquals(a.x().toArray(), b.x().toArray());
            assertArrayEquals(a.y(), b.y());
            // with noise, some points sit on the wrong side of the curve
            float[] x = a.x().toArray();
            int wrong = 0;
            for (int i = 0; i < 300; i++) if ((x[2 * i + 1] > Math.sin(x[2 * i]) ? 1 : 0) != a.y()[i]) wrong++;
            assertTrue(wrong > 0 && wrong < 100, "points across the curve: " + wrong);
        }
    }
}
