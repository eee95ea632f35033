package dev.panamann.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Tensor;
import org.junit.jupiter.api.Test;

class DatasetTest {

    @Test
    void selectCopiesRowsInOrder() {
        try (Dataset d = SplitsTest.ids(6); Dataset s = d.select(new int[] {4, 1, 4})) {
            assertArrayEquals(new float[] {4, -4, 1, -1, 4, -4}, s.x().toArray());
            assertArrayEquals(new int[] {4, 1, 4}, s.y());
            s.x().set(99f, 0, 0);
            assertEquals(4f, d.x().get(4, 0), 0f, "a copy, not a view");
            assertThrows(IndexOutOfBoundsException.class, () -> d.select(new int[] {6}));
        }
    }

    @Test
    void flattenIsAView() {
        try (Tensor x = Tensor.zeros(3, 2, 2); Dataset d = new Dataset(x, new int[3])) {
            Dataset f = d.flatten();
            assertArrayEquals(new int[] {3, 4}, f.x().shape());
            f.x().set(5f, 2, 3);
            assertEquals(5f, x.get(2, 1, 1), 0f);
        }
    }

    @Test
    void badLabelsAreRejected() {
        try (Tensor x = Tensor.zeros(2, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Dataset(x, new int[] {0, -1}));
            assertTrue(e.getMessage().contains("-1"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new Dataset(x, new int[] {0}));
        }
    }
}
