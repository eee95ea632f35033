package dev.panamann.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamann.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The shared elementwise loops against values worked out by hand. */
class ElementwiseTest {

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
}
